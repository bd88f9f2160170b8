"""Bot API wire format: request parameters in, `{"ok": ...}` envelopes out.

`Params` reads a request the way Telegram does: form fields are strings, and
objects/arrays (reply_markup, entities, scope, ...) arrive JSON-encoded inside
them; a JSON body is accepted as well. Typed reads are remembered so the call
log shows decoded values. `ApiError` is raised by method code and becomes
Telegram's error envelope via `error_body`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]

# Canonical spellings of the methods the stand-in implements (Telegram matches
# method names case-insensitively; the call log uses these spellings).
METHODS = (
    "getMe", "logOut", "close", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo",
    "sendMessage", "editMessageText", "editMessageReplyMarkup", "editMessageCaption",
    "deleteMessage", "deleteMessages", "answerCallbackQuery", "sendPhoto", "sendDocument",
    "sendMediaGroup", "editMessageMedia",
    "setMyCommands", "getMyCommands", "deleteMyCommands", "sendChatAction", "getFile",
    "setMyDescription", "getMyDescription", "setMyShortDescription", "getMyShortDescription",
    "setChatMenuButton", "getChatMenuButton",
)
CANONICAL = {name.lower(): name for name in METHODS}

TOO_MANY_REQUESTS = "Too Many Requests: retry after {}"
BLOCKED = "Forbidden: bot was blocked by the user"
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: request failed",
    401: "Unauthorized",
    403: BLOCKED,
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
         "make sure that only one bot instance is running",
    500: "Internal Server Error",
}
# nginx in front of api.telegram.org answers gateway errors with an HTML page.
_GATEWAY_PAGE = (
    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_GATEWAY_REASONS = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Time-out"}


class ApiError(Exception):
    """A Bot API failure: HTTP status plus Telegram's description."""

    def __init__(self, status: int, description: str | None = None,
                 retry_after: int | None = None) -> None:
        self.status = status
        self.description = description or _DEFAULT_DESCRIPTIONS.get(status, "Unknown error")
        if status == 429 and retry_after is not None and description is None:
            self.description = TOO_MANY_REQUESTS.format(retry_after)
        self.retry_after = retry_after
        super().__init__(self.description)


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def error_body(err: ApiError) -> tuple[bytes, str]:
    """(body, content type) for an error, shaped as Telegram sends it."""
    if err.status in _GATEWAY_REASONS:
        page = _GATEWAY_PAGE.format(code=err.status, reason=_GATEWAY_REASONS[err.status])
        return page.encode(), "text/html"
    payload: JSON = {"ok": False, "error_code": err.status, "description": err.description}
    if err.retry_after is not None:
        payload["parameters"] = {"retry_after": err.retry_after}
    return json.dumps(payload).encode(), "application/json"


def ok_body(result: Any, description: str | None = None) -> bytes:
    payload: JSON = {"ok": True, "result": result}
    if description:
        payload["description"] = description
    return json.dumps(payload).encode()


@dataclass
class Upload:
    """A file part of a multipart request."""

    data: bytes
    filename: str | None
    content_type: str | None


class Params:
    """Request parameters with Telegram's typing rules."""

    __slots__ = ("decoded", "files", "raw")

    def __init__(self, raw: JSON, files: dict[str, Upload] | None = None) -> None:
        self.raw = raw
        self.files = files or {}
        self.decoded: JSON = {}

    def __contains__(self, name: str) -> bool:
        return name in self.raw or name in self.files

    def for_log(self) -> JSON:
        logged = {**self.raw, **self.decoded}
        for name, up in self.files.items():
            logged[name] = {"filename": up.filename, "size": len(up.data),
                            "content_type": up.content_type}
        return logged

    def get_str(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value) if isinstance(value, dict | list) else str(value)

    def get_int(self, name: str) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise bad_request(f"field \"{name}\" must be of type Integer")
        try:
            number = int(float(value)) if isinstance(value, str) and "." in value else int(value)
        except ValueError:
            raise bad_request(f"field \"{name}\" must be of type Integer") from None
        self.decoded[name] = number
        return number

    def get_bool(self, name: str) -> bool:
        value = self.raw.get(name)
        result = value.lower() in ("true", "1") if isinstance(value, str) else bool(value)
        if value is not None:
            self.decoded[name] = result
        return result

    def get_json(self, name: str, error: str | None = None) -> Any:
        """A JSON-encoded field, decoded; `error` is the Bad Request text for bad JSON."""
        value = self.raw.get(name)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise bad_request(error or f"can't parse {name} JSON object") from None
            self.decoded[name] = value
        return value

    def chat_id(self) -> int:
        value = self.raw.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(value)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        self.decoded["chat_id"] = chat_id
        return chat_id

    def peek_chat_id(self) -> int | None:
        """chat_id without raising, for bookkeeping before the method runs."""
        value = self.raw.get("chat_id")
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None
