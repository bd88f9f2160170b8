"""The Bot API methods, applied to in-memory chats with Telegram's rules.

`ApiMethods` owns the bot identity, the simulated users and their messages,
uploaded files and command lists, and maps each lower-cased method name to a
handler `async (token, Params) -> result`. Handlers raise `ApiError` with the
description Telegram uses (e.g. "Bad Request: message is not modified: ...").
`BotAPIStandIn` (server.py) builds on this class and adds HTTP, faults, limits
and the test-side helpers.
"""

from __future__ import annotations

import mimetypes
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from standin.api import ApiError, Params, Upload, bad_request
from standin.markup import MarkupError, check_reply_markup, visible_text
from standin.state import CallbackAnswer, CallRecord, ChatMessage, Edit, StoredFile, image_size
from standin.updates import UpdateHub
from standin.users import SimulatedUser

JSON = dict[str, Any]
Handler = Callable[[str, Params], Awaitable[Any]]

NOT_MODIFIED = ("message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message")
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


class ApiMethods:
    def __init__(self, token: str | None, *, bot_name: str, bot_username: str,
                 create_unknown_chats: bool, stats: Counter[str], hub: UpdateHub) -> None:
        self.token = token
        self.bot_name = bot_name
        self.bot_username = bot_username
        self.create_unknown_chats = create_unknown_chats
        self.stats = stats
        self.hub = hub
        self.users: dict[int, SimulatedUser] = {}
        self.messages: dict[tuple[int, int], ChatMessage] = {}
        self.files: dict[str, StoredFile] = {}
        # Every file the bot uploaded (a file sent again by file_id is not an upload).
        self.uploads: list[StoredFile] = []
        self._album_seq = 0
        self.commands: dict[str, list[JSON]] = {}
        # The profile, by language code ("" = every language without its own).
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        self.menu_buttons: dict[int | None, JSON] = {}  # chat id (None = default) -> button
        self.calls: list[CallRecord] = []
        self._open_queries: dict[str, SimulatedUser] = {}
        self._message_seq = 0
        self._file_seq = 0
        self._query_seq = 0
        self.bot_user: JSON = {}
        self._set_bot_id(int(token.split(":")[0]) if token else 0)
        self.handlers: dict[str, Handler] = {
            "getme": self._get_me, "logout": self._true, "close": self._true,
            "getupdates": self._get_updates, "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook, "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message, "editmessagetext": self._edit_text,
            "editmessagereplymarkup": self._edit_markup,
            "editmessagecaption": self._edit_caption, "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "answercallbackquery": self._answer_callback, "sendphoto": self._send_photo,
            "sendmediagroup": self._send_media_group, "editmessagemedia": self._edit_media,
            "senddocument": self._send_document, "setmycommands": self._set_commands,
            "getmycommands": self._get_commands, "deletemycommands": self._delete_commands,
            "sendchataction": self._send_chat_action, "getfile": self._get_file,
            "setmydescription": self._set_description,
            "getmydescription": self._get_description,
            "setmyshortdescription": self._set_short_description,
            "getmyshortdescription": self._get_short_description,
            "setchatmenubutton": self._set_menu_button,
            "getchatmenubutton": self._get_menu_button,
        }

    def _set_bot_id(self, bot_id: int) -> None:
        # Updated in place: messages already sent keep pointing at this dict.
        self.bot_user.update({
            "id": bot_id, "is_bot": True, "first_name": self.bot_name,
            "username": self.bot_username, "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False,
            "can_connect_to_business": False, "has_main_web_app": False,
        })

    # -- shared state helpers (also used by SimulatedUser)
    def user(self, user_id: int, first_name: str | None = None, *, last_name: str | None = None,
             username: str | None = None, language_code: str = "en") -> SimulatedUser:
        """The simulated user with this id (created on first use; chat id == user id)."""
        existing = self.users.get(user_id)
        if existing is None:
            existing = SimulatedUser(self, user_id, first_name or f"User{user_id}",
                                     last_name, username, language_code)
            self.users[user_id] = existing
        return existing

    def inject_update(self, payload: JSON) -> JSON:
        """Hand an update (without update_id) to the bot; returns it numbered."""
        return self.hub.inject(payload)

    def _next_message_id(self) -> int:
        # One counter for all chats, so a message id never matches in another chat.
        self._message_seq += 1
        return self._message_seq

    def _register_message(self, msg: ChatMessage) -> None:
        self.messages[(msg.chat_id, msg.message_id)] = msg

    def _store_file(self, data: bytes, filename: str | None, mime_type: str | None,
                    url: str | None = None) -> StoredFile:
        self._file_seq += 1
        n = self._file_seq
        file = StoredFile(f"BQACAgIAAxk{n:010d}", f"AgAD{n:06d}", data, filename, mime_type, url)
        self.files[file.file_id] = file
        return file

    def _issue_callback_query(self, user: SimulatedUser) -> str:
        self._query_seq += 1
        query_id = str(4_300_000_000_000_000_000 + self._query_seq)
        self._open_queries[query_id] = user
        return query_id

    def _chat(self, p: Params) -> SimulatedUser:
        chat_id = p.chat_id()
        user = self.users.get(chat_id)
        if user is None:
            if not (self.create_unknown_chats and chat_id > 0):
                raise bad_request("chat not found")
            user = self.user(chat_id)
        return user

    def _text(self, p: Params, name: str) -> tuple[str | None, str | None]:
        """(visible text, raw text) of a text/caption field after applying parse_mode."""
        raw = p.get_str(name)
        if raw is None:
            return None, None
        entities = p.get_json("entities" if name == "text" else "caption_entities")
        try:
            shown = visible_text(raw, None if entities else p.get_str("parse_mode"))
        except MarkupError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
        return shown, raw

    def _markup(self, p: Params, inline_only: bool = False) -> JSON | None:
        if "reply_markup" not in p:
            return None
        markup = p.get_json("reply_markup", "can't parse reply keyboard markup JSON object")
        if markup is None:
            return None
        if error := check_reply_markup(markup):
            raise ApiError(400, error)
        if inline_only and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        return markup  # type: ignore[no-any-return]

    def _reply_to(self, p: Params, chat: SimulatedUser) -> ChatMessage | None:
        reply = p.get_json("reply_parameters") or {}
        target = p.get_int("reply_to_message_id") or reply.get("message_id")
        if not target:
            return None
        msg = self.messages.get((chat.id, int(target)))
        if msg is None or msg.deleted:
            if p.get_bool("allow_sending_without_reply") or reply.get(
                    "allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return msg

    def _new_bot_message(self, chat: SimulatedUser, p: Params, **fields: Any) -> JSON:
        msg = ChatMessage(chat_id=chat.id, message_id=self._next_message_id(),
                          date=int(time.time()), from_bot=True, sender=self.bot_user,
                          chat=chat.chat_dict, parse_mode=p.get_str("parse_mode"),
                          reply_to=self._reply_to(p, chat), **fields)
        self._register_message(msg)
        chat._add_bot_message(msg)
        return msg.to_dict()

    def _input_file(self, p: Params, name: str) -> StoredFile:
        upload: Upload | None = p.files.get(name)
        value = p.get_str(name)
        if upload is None and value and value.startswith("attach://"):
            upload = p.files.get(value[len("attach://"):])
        if upload is not None:
            mime = upload.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(upload.filename or "")[0] or mime
            stored = self._store_file(upload.data, upload.filename, mime)
            self.uploads.append(stored)
            return stored
        if not value:
            raise bad_request(f"there is no {name} in the request")
        if value in self.files:
            return self.files[value]
        if value.startswith(("http://", "https://")):
            return self._store_file(b"", value.rsplit("/", 1)[-1], None, url=value)
        raise bad_request("wrong file identifier/HTTP URL specified")

    def forget_file(self, file_id: str) -> None:
        """Telegram no longer knows this file_id (sending it fails as a wrong identifier)."""
        self.files.pop(file_id, None)

    def _input_media(self, p: Params, item: Any) -> tuple[str, StoredFile, str | None,
                                                          str | None]:
        """(type, file, caption, raw caption) of one InputMedia of an album or an edit."""
        if not isinstance(item, dict) or not isinstance(item.get("media"), str):
            raise bad_request("can't parse InputMedia: media not found")
        kind = item.get("type")
        if kind not in ("photo", "document"):
            raise bad_request(f"can't parse InputMedia: type \"{kind}\" is unsupported")
        fields = {name: item[name] for name in ("caption", "parse_mode", "caption_entities")
                  if name in item}
        one = Params({kind: item["media"], **fields}, p.files)
        caption, raw = self._caption(one)
        file = self._input_file(one, kind)
        if kind == "photo" and file.data and image_size(file.data) is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        return kind, file, caption, raw

    def _caption(self, p: Params) -> tuple[str | None, str | None]:
        caption, raw = self._text(p, "caption")
        if caption is not None and len(caption) > 1024:
            raise bad_request("message caption is too long")
        return caption, raw

    def _own_message(self, p: Params, action: str) -> tuple[SimulatedUser, ChatMessage]:
        if "inline_message_id" in p:
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._chat(p)
        msg = self.messages.get((chat.id, p.get_int("message_id") or 0))
        if msg is None or msg.deleted:
            raise bad_request(f"message to {action} not found")
        if action == "edit" and not msg.from_bot:
            raise bad_request("message can't be edited")
        return chat, msg

    def _apply_edit(self, chat: SimulatedUser, msg: ChatMessage, **changes: Any) -> JSON:
        for key, value in changes.items():
            setattr(msg, key, value)
        msg.edit_date = int(time.time())
        msg.edits.append(Edit(time.time(), msg.text, msg.caption, msg.reply_markup))
        chat.changed.notify()
        return msg.to_dict()

    # -- methods
    async def _true(self, token: str, p: Params) -> bool:
        return True

    async def _get_me(self, token: str, p: Params) -> JSON:
        return self.bot_user

    async def _get_updates(self, token: str, p: Params) -> list[JSON]:
        allowed = p.get_json("allowed_updates")
        if isinstance(allowed, list):
            self.hub.allowed = [str(kind) for kind in allowed] or None
        limit = min(max(p.get_int("limit") or 100, 1), 100)
        return await self.hub.get_updates(token, p.get_int("offset"), limit,
                                          max(p.get_int("timeout") or 0, 0))

    async def _set_webhook(self, token: str, p: Params) -> bool:
        url = p.get_str("url") or ""
        if not url:
            self.hub.delete_webhook(p.get_bool("drop_pending_updates"))
            return True
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get_str("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(secret):
            raise bad_request("bad webhook: Secret token contains unallowed characters")
        allowed = p.get_json("allowed_updates")
        if isinstance(allowed, list):
            self.hub.allowed = [str(kind) for kind in allowed] or None
        max_connections = min(max(p.get_int("max_connections") or 40, 1), 100)
        self.hub.set_webhook(url, secret, max_connections, p.get_bool("drop_pending_updates"),
                             p.get_str("ip_address"))
        return True

    async def _delete_webhook(self, token: str, p: Params) -> bool:
        self.hub.delete_webhook(p.get_bool("drop_pending_updates"))
        return True

    async def _get_webhook_info(self, token: str, p: Params) -> JSON:
        return self.hub.webhook_info()

    async def _send_message(self, token: str, p: Params) -> JSON:
        chat = self._chat(p)
        text, raw = self._text(p, "text")
        if not text:
            raise bad_request("message text is empty")
        if len(text) > 4096:
            raise bad_request("message is too long")
        return self._new_bot_message(chat, p, text=text, raw_text=raw,
                                     entities=p.get_json("entities"),
                                     reply_markup=self._markup(p))

    async def _send_photo(self, token: str, p: Params) -> JSON:
        chat = self._chat(p)
        caption, raw = self._caption(p)
        file = self._input_file(p, "photo")
        size = image_size(file.data) if file.data else (0, 0)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        return self._new_bot_message(chat, p, file=file, media_kind="photo", image_size=size,
                                     caption=caption, raw_caption=raw,
                                     reply_markup=self._markup(p))

    async def _send_media_group(self, token: str, p: Params) -> list[JSON]:
        chat = self._chat(p)
        if "media" not in p:
            raise bad_request("parameter \"media\" is required")
        items = p.get_json("media", "can't parse media JSON object")
        if not items:
            raise bad_request("there are no messages to send")
        if not isinstance(items, list):
            raise bad_request("can't parse media JSON object")
        if len(items) > 10:
            raise bad_request("too many messages to send as an album")
        media = [self._input_media(p, item) for item in items]
        kinds = {kind for kind, *_rest in media}
        if "document" in kinds and len(kinds) > 1:
            raise bad_request("document can't be mixed with other media types")
        # A single item goes out as one message outside any album, as Telegram does.
        extra: JSON = {}
        if len(media) > 1:
            self._album_seq += 1
            extra = {"media_group_id": str(13_000_000_000_000_000 + self._album_seq)}
        return [self._new_bot_message(
                    chat, p, file=file, media_kind=kind, caption=caption, raw_caption=raw,
                    image_size=(image_size(file.data) or (0, 0)) if file.data else (0, 0),
                    extra=dict(extra))
                for kind, file, caption, raw in media]

    async def _edit_media(self, token: str, p: Params) -> JSON:
        chat, msg = self._own_message(p, "edit")
        if msg.file is None:
            raise bad_request("there is no media in the message to edit")
        kind, file, caption, raw = self._input_media(p, p.get_json("media"))
        markup = self._markup(p, inline_only=True)
        if file is msg.file and caption == msg.caption and markup == msg.reply_markup:
            raise bad_request(NOT_MODIFIED)
        size = (image_size(file.data) or (0, 0)) if file.data else (0, 0)
        return self._apply_edit(chat, msg, file=file, media_kind=kind, image_size=size,
                                caption=caption, raw_caption=raw, reply_markup=markup)

    async def _send_document(self, token: str, p: Params) -> JSON:
        chat = self._chat(p)
        caption, raw = self._caption(p)
        file = self._input_file(p, "document")
        return self._new_bot_message(chat, p, file=file, media_kind="document",
                                     caption=caption, raw_caption=raw,
                                     reply_markup=self._markup(p))

    async def _edit_text(self, token: str, p: Params) -> JSON:
        chat, msg = self._own_message(p, "edit")
        if msg.text is None:
            raise bad_request("there is no text in the message to edit")
        text, raw = self._text(p, "text")
        if not text:
            raise bad_request("message text is empty")
        if len(text) > 4096:
            raise bad_request("message is too long")
        markup = self._markup(p, inline_only=True)
        if text == msg.text and raw == msg.raw_text and markup == msg.reply_markup:
            raise bad_request(NOT_MODIFIED)
        # Like Telegram, an edit without reply_markup removes the inline keyboard.
        return self._apply_edit(chat, msg, text=text, raw_text=raw, reply_markup=markup,
                                parse_mode=p.get_str("parse_mode"),
                                entities=p.get_json("entities"))

    async def _edit_markup(self, token: str, p: Params) -> JSON:
        chat, msg = self._own_message(p, "edit")
        markup = self._markup(p, inline_only=True)
        if markup == msg.reply_markup:
            raise bad_request(NOT_MODIFIED)
        return self._apply_edit(chat, msg, reply_markup=markup)

    async def _edit_caption(self, token: str, p: Params) -> JSON:
        chat, msg = self._own_message(p, "edit")
        if msg.file is None:
            raise bad_request("there is no caption in the message to edit")
        caption, raw = self._caption(p)
        markup = self._markup(p, inline_only=True)
        if caption == msg.caption and raw == msg.raw_caption and markup == msg.reply_markup:
            raise bad_request(NOT_MODIFIED)
        return self._apply_edit(chat, msg, caption=caption, raw_caption=raw,
                                reply_markup=markup)

    async def _delete_message(self, token: str, p: Params) -> bool:
        chat, msg = self._own_message(p, "delete")
        msg.deleted = True
        chat.changed.notify()
        return True

    async def _delete_messages(self, token: str, p: Params) -> bool:
        chat = self._chat(p)
        ids = p.get_json("message_ids") or []
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must be a list of 1-100 ids")
        for message_id in ids:
            msg = self.messages.get((chat.id, int(message_id)))
            if msg is not None:
                msg.deleted = True
        chat.changed.notify()
        return True

    async def _answer_callback(self, token: str, p: Params) -> bool:
        query_id = p.get_str("callback_query_id") or ""
        user = self._open_queries.pop(query_id, None)
        if user is None:
            raise bad_request(QUERY_INVALID)
        text = p.get_str("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        user.callback_answers.append(CallbackAnswer(
            query_id, text, p.get_bool("show_alert"), p.get_str("url"),
            p.get_int("cache_time") or 0))
        user.changed.notify()
        return True

    async def _send_chat_action(self, token: str, p: Params) -> bool:
        chat = self._chat(p)
        action = p.get_str("action") or ""
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.chat_actions.append(action)
        chat.changed.notify()
        return True

    def _scope_key(self, p: Params) -> str:
        scope = p.get_json("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad_request("can't parse BotCommandScope JSON object")
        key = str(scope["type"])
        if "chat_id" in scope:
            chat_id = int(scope["chat_id"])
            if chat_id not in self.users and not self.create_unknown_chats:
                raise bad_request("chat not found")
            key += f":{chat_id}"
        if "user_id" in scope:
            key += f":{int(scope['user_id'])}"
        lang = p.get_str("language_code")
        return f"{key}/{lang}" if lang else key

    async def _set_commands(self, token: str, p: Params) -> bool:
        commands = p.get_json("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands")
        cleaned = []
        for item in commands:
            command = str(item.get("command", "")) if isinstance(item, dict) else ""
            description = str(item.get("description", "")) if isinstance(item, dict) else ""
            if not _COMMAND_RE.fullmatch(command.removeprefix("/")):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command.removeprefix("/"), "description": description})
        key = self._scope_key(p)
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    async def _get_commands(self, token: str, p: Params) -> list[JSON]:
        return self.commands.get(self._scope_key(p), [])

    async def _delete_commands(self, token: str, p: Params) -> bool:
        self.commands.pop(self._scope_key(p), None)
        return True

    async def _get_file(self, token: str, p: Params) -> JSON:
        file = self.files.get(p.get_str("file_id") or "")
        if file is None:
            raise bad_request("invalid file_id")
        return {"file_id": file.file_id, "file_unique_id": file.file_unique_id,
                "file_size": len(file.data), "file_path": f"documents/{file.file_unique_id}"}

    # -- the bot's profile
    async def _set_description(self, token: str, p: Params) -> bool:
        return self._set_profile_text(self.descriptions, p, "description", 512)

    async def _get_description(self, token: str, p: Params) -> JSON:
        return {"description": self.descriptions.get(p.get_str("language_code") or "", "")}

    async def _set_short_description(self, token: str, p: Params) -> bool:
        return self._set_profile_text(self.short_descriptions, p, "short_description", 120)

    async def _get_short_description(self, token: str, p: Params) -> JSON:
        return {"short_description":
                self.short_descriptions.get(p.get_str("language_code") or "", "")}

    @staticmethod
    def _set_profile_text(texts: dict[str, str], p: Params, name: str, limit: int) -> bool:
        text = p.get_str(name) or ""
        if len(text) > limit:
            raise bad_request(f"{name.upper()}_INVALID")
        language = p.get_str("language_code") or ""
        if text:
            texts[language] = text
        else:
            texts.pop(language, None)
        return True

    async def _set_menu_button(self, token: str, p: Params) -> bool:
        button = p.get_json("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
                "commands", "web_app", "default"):
            raise bad_request("can't parse menu button JSON object")
        chat_id = p.get_int("chat_id")
        self.menu_buttons[chat_id] = button
        return True

    async def _get_menu_button(self, token: str, p: Params) -> JSON:
        chat_id = p.get_int("chat_id")
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or \
            {"type": "default"}
