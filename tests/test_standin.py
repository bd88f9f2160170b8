"""The Bot API stand-in, driven by a real python-telegram-bot client over HTTP.

Each test starts a fresh stand-in on a free loopback port and talks to it with
`telegram.Bot(TOKEN, base_url=standin.base_url)`, checking both what PTB sees
and what the test side (simulated users, call log) sees.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import struct
import time
import zlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from standin import BotAPIStandIn, MarkupError, check_reply_markup, visible_text

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def make_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


@pytest.fixture
async def standin() -> AsyncIterator[BotAPIStandIn]:
    server = BotAPIStandIn(token=TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(standin: BotAPIStandIn) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=standin.base_url,
                   base_file_url=standin.base_file_url) as client:
        yield client


# ---------------------------------------------------------------- identity and routing
async def test_get_me_reports_the_bot_from_the_token(standin: BotAPIStandIn, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456789
    assert me.is_bot and me.username == "move_better_test_bot"
    assert me.can_join_groups is True and me.supports_inline_queries is False
    assert standin.calls[-1].method == "getMe" and standin.calls[-1].status == 200


async def test_wrong_token_and_unknown_method(standin: BotAPIStandIn, bot: Bot) -> None:
    other = "987654321:" + "B" * 35
    logged = len(standin.calls)
    with pytest.raises(InvalidToken):
        async with Bot(other, base_url=standin.base_url):
            pass
    assert len(standin.calls) == logged  # refused before reaching any method
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})
    assert standin.calls[-1].status == 404
    # Method names are case-insensitive, as in Telegram.
    assert (await bot.do_api_request("GETME"))["username"] == "move_better_test_bot"


async def test_any_well_formed_token_is_accepted_by_default() -> None:
    async with BotAPIStandIn() as server, Bot("42:" + "x" * 32,
                                              base_url=server.base_url) as client:
        assert (await client.get_me()).id == 42


# ---------------------------------------------------------------- sending
async def test_send_message_with_inline_keyboard_is_visible_to_the_user(
        standin: BotAPIStandIn, bot: Bot) -> None:
    ana = standin.user(1001, first_name="Ana")
    sent = await bot.send_message(1001, "Pick <b>one</b>", parse_mode="HTML",
                                  reply_markup=keyboard([("Neck", "ex:neck"), ("Back", "ex:back")]))
    assert sent.chat.id == 1001 and sent.from_user is not None and sent.from_user.is_bot
    assert sent.text == "Pick one"
    assert sent.reply_markup == keyboard([("Neck", "ex:neck"), ("Back", "ex:back")])
    seen = await ana.next_message(timeout=1)
    assert seen.message_id == sent.message_id
    assert seen.text == "Pick one" and seen.raw_text == "Pick <b>one</b>"
    assert seen.buttons == [[("Neck", "ex:neck"), ("Back", "ex:back")]]
    assert standin.calls_to("sendMessage")[0].params["chat_id"] == 1001


async def test_reply_keyboard_and_its_removal(standin: BotAPIStandIn, bot: Bot) -> None:
    ana = standin.user(1001)
    markup = ReplyKeyboardMarkup([[KeyboardButton("Share location", request_location=True)],
                                  ["Skip"]], resize_keyboard=True)
    sent = await bot.send_message(1001, "Where are you?", reply_markup=markup)
    assert sent.reply_markup is None  # Telegram echoes only inline keyboards
    assert ana.messages[0].reply_keyboard == [
        [{"text": "Share location", "request_location": True}], [{"text": "Skip"}]]
    assert ana.reply_keyboard is not None
    await bot.send_message(1001, "Thanks", reply_markup=ReplyKeyboardRemove())
    assert ana.reply_keyboard is None and ana.messages[1].removes_keyboard


async def test_callback_data_limit_is_64_bytes(standin: BotAPIStandIn, bot: Bot) -> None:
    ana = standin.user(1001)
    await bot.send_message(1001, "ok", reply_markup=keyboard([("é", "é" * 32)]))  # 64 bytes
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(1001, "too long", reply_markup=keyboard([("x", "a" * 65)]))
    assert [m.text for m in ana.messages] == ["ok"]


async def test_message_length_and_empty_text(standin: BotAPIStandIn, bot: Bot) -> None:
    ana = standin.user(1001)
    await bot.send_message(1001, "x" * 4096)
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(1001, "x" * 4097)
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(1001, "   ")
    assert len(ana.messages) == 1


async def test_unknown_chat_and_broken_markup_are_refused(standin: BotAPIStandIn,
                                                         bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(555, "hello?")
    standin.user(1001)
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(1001, "Done. Stretch!", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(1001, "<b>open", parse_mode="HTML")


async def test_send_photo_and_document_round_trip(standin: BotAPIStandIn, bot: Bot) -> None:
    ana = standin.user(1001)
    png = make_png(3, 2)
    sent = await bot.send_photo(1001, png, caption="Your week", filename="week.png")
    assert (sent.photo[-1].width, sent.photo[-1].height) == (3, 2)
    assert ana.messages[-1].photo == png and ana.messages[-1].caption == "Your week"
    csv = b"date,breaks\n2024-05-01,4\n"
    doc = await bot.send_document(1001, csv, filename="breaks.csv")
    assert doc.document is not None and doc.document.file_name == "breaks.csv"
    assert ana.messages[-1].document == csv and ana.messages[-1].filename == "breaks.csv"
    # The same file can be re-sent by file_id, and downloaded again.
    again = await bot.send_photo(1001, sent.photo[-1].file_id)
    assert ana.messages[-1].photo == png and again.photo[-1].file_id == sent.photo[-1].file_id
    downloaded = await (await bot.get_file(doc.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == csv
    with pytest.raises(BadRequest, match="(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(1001, b"not an image", filename="x.png")


async def test_albums_edits_of_media_and_uploads_counted(standin: BotAPIStandIn,
                                                          bot: Bot) -> None:
    ana = standin.user(1001)
    first = await bot.send_photo(1001, make_png(3, 2), caption="one", filename="a.png")
    known = first.photo[-1].file_id
    assert len(standin.uploads) == 1
    # An album mixes a file_id sent again with a new upload; only the upload counts.
    album = await bot.send_media_group(1001, [
        InputMediaPhoto(known, caption="1/2 · Seated"),
        InputMediaPhoto(make_png(4, 2), caption="2/2 · Lunge", filename="b.png")])
    assert [m.caption for m in album] == ["1/2 · Seated", "2/2 · Lunge"]
    assert album[0].media_group_id and album[0].media_group_id == album[1].media_group_id
    assert album[0].photo[-1].file_id == known and len(standin.uploads) == 2
    assert [m.caption for m in ana.messages[-2:]] == ["1/2 · Seated", "2/2 · Lunge"]
    # A single item is one message outside any album.
    (alone,) = await bot.send_media_group(1001, [InputMediaPhoto(known)])
    assert alone.media_group_id is None
    with pytest.raises(BadRequest, match="(?i)too many messages to send as an album"):
        await bot.send_media_group(1001, [InputMediaPhoto(known)] * 11)
    with pytest.raises(BadRequest, match="(?i)there are no messages to send"):
        await standin_call(standin, "sendMediaGroup", chat_id=1001, media="[]")
    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await bot.send_media_group(1001, [InputMediaPhoto(known, caption="x" * 1025),
                                          InputMediaPhoto(known)])
    # editMessageMedia swaps the picture and caption and keeps the message.
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Ready", callback_data="g")]])
    edited = await bot.edit_message_media(InputMediaPhoto(album[1].photo[-1].file_id,
                                                          caption="two"),
                                          chat_id=1001, message_id=first.message_id,
                                          reply_markup=keyboard)
    assert isinstance(edited, Message) and edited.caption == "two"
    assert standin.messages[(1001, first.message_id)].photo == make_png(4, 2)
    assert standin.messages[(1001, first.message_id)].buttons == [[("Ready", "g")]]
    text = await bot.send_message(1001, "plain")
    with pytest.raises(BadRequest, match="(?i)no media in the message"):
        await bot.edit_message_media(InputMediaPhoto(known), chat_id=1001,
                                     message_id=text.message_id)
    with pytest.raises(BadRequest, match="(?i)no caption in the message"):
        await bot.edit_message_caption(chat_id=1001, message_id=text.message_id, caption="x")
    # A file_id Telegram forgot is refused like any unknown one.
    standin.forget_file(known)
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await bot.send_photo(1001, known)


async def standin_call(standin: BotAPIStandIn, method: str, **params: object) -> object:
    """A raw Bot API call, for requests PTB refuses to build."""
    from aiohttp import ClientSession

    async with ClientSession() as session, session.post(
            f"{standin.base_url}{TOKEN}/{method}", data=params) as response:
        body = await response.json()
    if not body["ok"]:
        raise BadRequest(body["description"])
    return body["result"]


# ---------------------------------------------------------------- updates
async def test_long_poll_wakes_on_injected_command_and_offset_confirms(
        standin: BotAPIStandIn, bot: Bot) -> None:
    ana = standin.user(1001, first_name="Ana")
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await standin.wait_until(lambda: standin.polling, timeout=5)
    await ana.command("/start", "ref42")
    updates = await asyncio.wait_for(poll, timeout=5)
    assert time.monotonic() - started < 5  # woke up, did not sit out the 20 s poll
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None and message.text == "/start ref42"
    assert message.from_user is not None and message.from_user.language_code == "en"
    entity = message.entities[0]
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 6)
    # Not confirmed yet: returned again; confirmed by offset: never again.
    assert [u.update_id for u in await bot.get_updates()] == [updates[0].update_id]
    assert await bot.get_updates(offset=updates[0].update_id + 1) == ()
    assert standin.pending_updates == []


async def test_limit_and_update_kinds(standin: BotAPIStandIn, bot: Bot) -> None:
    ana = standin.user(1001)
    await ana.send("hello")
    await ana.send_location(40.4, -3.7)
    await ana.send_sticker()
    await ana.send_photo()
    first_two = await bot.get_updates(limit=2)
    assert len(first_two) == 2 and first_two[0].message and first_two[0].message.text == "hello"
    assert first_two[1].message and first_two[1].message.location
    assert first_two[1].message.location.latitude == pytest.approx(40.4)
    rest = await bot.get_updates(offset=first_two[1].update_id + 1)
    assert rest[0].message and rest[0].message.sticker
    assert rest[1].message and rest[1].message.photo


async def test_concurrent_get_updates_conflict(standin: BotAPIStandIn, bot: Bot) -> None:
    # Two instances of the same bot polling at once: the older request is ended with 409.
    first = asyncio.create_task(bot.get_updates(timeout=20))
    await standin.wait_until(lambda: standin.polling, timeout=5)
    async with Bot(TOKEN, base_url=standin.base_url) as twin:
        second = asyncio.create_task(twin.get_updates(timeout=0))
        with pytest.raises(Conflict, match="(?i)terminated by other getUpdates request"):
            await asyncio.wait_for(first, timeout=5)
        assert await second == ()


async def test_button_press_and_answer(standin: BotAPIStandIn, bot: Bot) -> None:
    ana = standin.user(1001)
    sent = await bot.send_message(1001, "Done?", reply_markup=keyboard([("Yes", "done:1")]))
    query_id = await ana.press_button(ana.messages[0], "Yes")
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.id == query_id and query.data == "done:1"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert query.from_user.id == 1001
    assert await bot.answer_callback_query(query_id, text="Logged!") is True
    assert [a.text for a in ana.callback_answers] == ["Logged!"]
    with pytest.raises(BadRequest, match="(?i)query ID is invalid"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(LookupError):
        await ana.press(ana.messages[0], "not-a-button")


async def test_edits_and_deletes(standin: BotAPIStandIn, bot: Bot) -> None:
    ana, ben = standin.user(1001), standin.user(1002)
    sent = await bot.send_message(1001, "Timer: 3", reply_markup=keyboard([("Stop", "stop")]))
    await bot.edit_message_text("Timer: 2", chat_id=1001, message_id=sent.message_id,
                                reply_markup=keyboard([("Stop", "stop")]))
    msg = ana.messages[0]
    assert msg.text == "Timer: 2" and len(msg.edits) == 1 and msg.buttons == [[("Stop", "stop")]]
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("Timer: 2", chat_id=1001, message_id=sent.message_id,
                                    reply_markup=keyboard([("Stop", "stop")]))
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=1001, message_id=9999)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):  # another chat's message
        await bot.edit_message_text("x", chat_id=ben.id, message_id=sent.message_id)
    # Editing text without reply_markup drops the keyboard, as Telegram does.
    await bot.edit_message_text("Timer: 1", chat_id=1001, message_id=sent.message_id)
    assert msg.buttons == [] and msg.edits[-1].text == "Timer: 1"
    await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=keyboard([("Go",
                                                                                        "go")]))
    assert msg.buttons == [[("Go", "go")]]
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_reply_markup(1001, sent.message_id,
                                            reply_markup=keyboard([("Go", "go")]))
    assert await bot.delete_message(1001, sent.message_id) is True
    assert msg.deleted
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(1001, sent.message_id)


async def test_edit_is_awaitable_from_the_test_side(standin: BotAPIStandIn, bot: Bot) -> None:
    ana = standin.user(1001)
    sent = await bot.send_message(1001, "Starting")
    assert (await ana.next_message(timeout=1)).text == "Starting"

    async def later_edit() -> None:
        await asyncio.sleep(0.05)
        await bot.edit_message_text("Finished", chat_id=1001, message_id=sent.message_id)

    task = asyncio.create_task(later_edit())
    await ana.wait_until(lambda: ana.messages[0].text == "Finished", timeout=5)
    await task
    with pytest.raises(TimeoutError, match="(?i)Finished"):  # the dump shows the chat
        await ana.next_message(timeout=0.1)


async def test_commands_per_scope_and_chat_action(standin: BotAPIStandIn, bot: Bot) -> None:
    standin.user(1001)
    await bot.set_my_commands([BotCommand("start", "Begin"), BotCommand("stats", "Your week")])
    await bot.set_my_commands([BotCommand("admin", "Admin tools")],
                              scope=BotCommandScopeChat(1001))
    assert [c.command for c in await bot.get_my_commands()] == ["start", "stats"]
    assert standin.get_commands("chat", chat_id=1001) == [
        {"command": "admin", "description": "Admin tools"}]
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad Command", "x")])
    assert await bot.send_chat_action(1001, "typing") is True
    assert standin.users[1001].chat_actions == ["typing"]


# ---------------------------------------------------------------- faults
# RetryAfter.retry_after warns about its coming switch to timedelta; both forms are handled.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_injected_429_raises_retry_after(standin: BotAPIStandIn, bot: Bot) -> None:
    ana = standin.user(1001)
    standin.fail_next("sendMessage", status=429, retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(1001, "hi")
        assert seconds(caught.value.retry_after) == 7
    await bot.send_message(1001, "hi")
    assert [m.text for m in ana.messages] == ["hi"]
    assert [c.status for c in standin.calls_to("sendMessage")] == [429, 429, 200]


async def test_blocked_user_gets_forbidden(standin: BotAPIStandIn, bot: Bot) -> None:
    ana = standin.user(1001)
    ana.block()
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.send_message(1001, "Time to stretch!")
    (update,) = await bot.get_updates()
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"
    ana.unblock()
    await bot.send_message(1001, "Welcome back")
    assert [m.text for m in ana.messages] == ["Welcome back"]


@pytest.mark.parametrize("status", [500, 502])
async def test_server_errors_raise_network_error(standin: BotAPIStandIn, bot: Bot,
                                                 status: int) -> None:
    standin.user(1001)
    standin.fail_next("*", status=status)
    with pytest.raises(NetworkError) as caught:
        await bot.send_message(1001, "hi")
    assert not isinstance(caught.value, BadRequest)
    assert standin.users[1001].messages == []


async def test_an_outage_refuses_every_call_until_it_ends(standin: BotAPIStandIn,
                                                         bot: Bot) -> None:
    ana = standin.user(1001)
    standin.outage(3600)
    for call in (bot.send_message(1001, "hi"), bot.get_me()):
        with pytest.raises(NetworkError):
            await call
    assert ana.messages == []
    standin.outage(0)
    await bot.send_message(1001, "hi")
    assert [m.text for m in ana.messages] == ["hi"]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_limits(standin: BotAPIStandIn, bot: Bot) -> None:
    standin.user(1001), standin.user(1002)
    standin.enforce_limits(per_second=30, per_chat_per_second=1)
    await bot.send_message(1001, "one")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1001, "two")
    assert seconds(caught.value.retry_after) >= 1
    await bot.send_message(1002, "other chat is fine")
    assert standin.stats["limited"] == 1 and standin.stats["429"] == 1
    standin.enforce_limits(per_chat_per_second=1, per_chat_burst=2)
    await bot.send_message(1001, "two")
    await bot.send_message(1001, "three")
    with pytest.raises(RetryAfter):
        await bot.send_message(1001, "four")
    standin.clear_faults()
    await bot.send_message(1001, "four")
    assert [m.text for m in standin.users[1001].messages] == ["one", "two", "three", "four"]


async def test_slow_replies(standin: BotAPIStandIn, bot: Bot) -> None:
    standin.user(1001)
    standin.slow("sendMessage", seconds=0.3)
    started = time.monotonic()
    await bot.send_message(1001, "hi")
    assert time.monotonic() - started >= 0.3
    await bot.get_me()  # other methods are not delayed
    standin.slow("sendMessage", 0)
    await bot.send_message(1001, "fast again")
    durations = {c.method: c.duration for c in standin.calls[-3:]}
    assert [c.duration >= 0.3 for c in standin.calls[-3:]] == [True, False, False]
    assert durations["getMe"] < 0.3


# ---------------------------------------------------------------- webhooks
@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[dict, str | None]], list[int]]]:
    """A webhook endpoint recording (update, secret header); fails while `failures` > 0."""
    received: list[tuple[dict, str | None]] = []
    failures = [0]

    async def handle(request: web.Request) -> web.Response:
        if failures[0] > 0:
            failures[0] -= 1
            return web.Response(status=500)
        received.append((await request.json(),
                         request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/hook", received, failures
    await runner.cleanup()


async def test_webhook_delivery_with_secret(standin: BotAPIStandIn, bot: Bot,
                                            receiver: tuple[str, list, list[int]]) -> None:
    url, received, _ = receiver
    ana = standin.user(1001)
    await ana.send("queued before the webhook")
    assert await bot.set_webhook(url, secret_token="s3cr3t_token") is True
    await ana.command("/start")
    await ana.send("second")
    await standin.wait_until(lambda: len(received) == 3, timeout=5)
    texts = [Update.de_json(body, bot).message.text for body, _ in received]  # type: ignore[union-attr]
    assert texts == ["queued before the webhook", "/start", "second"]
    assert {secret for _, secret in received} == {"s3cr3t_token"}
    info = await bot.get_webhook_info()
    assert info.url == url and info.pending_update_count == 0
    with pytest.raises(Conflict, match="(?i)webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    await ana.send("polling again")
    (update,) = await bot.get_updates()
    assert update.message is not None and update.message.text == "polling again"


async def test_webhook_retries_a_failed_delivery(receiver: tuple[str, list, list[int]]) -> None:
    url, received, failures = receiver
    failures[0] = 2
    async with BotAPIStandIn(token=TOKEN, webhook_retry_delay=0.01) as server, Bot(
            TOKEN, base_url=server.base_url) as client:
        await client.set_webhook(url)
        await server.user(1001).send("eventually")
        await server.wait_until(lambda: len(received) == 1, timeout=5)
        body, secret = received[0]
        assert body["message"]["text"] == "eventually" and secret is None
        info = await client.get_webhook_info()
        assert info.last_error_message is not None and "500" in info.last_error_message
        assert server.stats["webhook_errors"] == 2


async def test_delete_webhook_can_drop_or_keep_pending(standin: BotAPIStandIn, bot: Bot) -> None:
    ana = standin.user(1001)
    await bot.set_webhook("http://127.0.0.1:9/unreachable")
    await bot.delete_webhook()
    await ana.send("kept")
    await ana.send("also kept")
    assert [u.message.text for u in await bot.get_updates() if u.message] == ["kept",
                                                                               "also kept"]
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()


async def test_set_webhook_ends_a_running_long_poll(standin: BotAPIStandIn, bot: Bot,
                                                    receiver: tuple[str, list, list[int]]
                                                    ) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await standin.wait_until(lambda: standin.polling, timeout=5)
    await bot.set_webhook(receiver[0])
    with pytest.raises(Conflict):
        await asyncio.wait_for(poll, timeout=5)


# ---------------------------------------------------------------- a PTB Application
async def test_application_polls_and_replies(standin: BotAPIStandIn) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            f"Hi! args={context.args}", reply_markup=keyboard([("Stretch now", "go")]))

    app = ApplicationBuilder().token(TOKEN).base_url(standin.base_url).build()
    app.add_handler(CommandHandler("start", start))
    ana = standin.user(1001, first_name="Ana")
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        await ana.command("/start", ["a", "b"])
        reply = await ana.next_message(timeout=10)
        await app.updater.stop()
        await app.stop()
    assert reply.text == "Hi! args=['a', 'b']"
    assert reply.buttons == [[("Stretch now", "go")]]


# ---------------------------------------------------------------- formatting rules
def test_visible_text_rules() -> None:
    assert visible_text("<b>Neck</b> &amp; <i>back</i>", "HTML") == "Neck & back"
    assert visible_text(r"*Done\!* See [link](https://example.com)", "MarkdownV2") == \
        "Done! See link"
    assert visible_text("`a.b` and *bold*", "Markdown") == "a.b and bold"
    for text, mode in [("1. stretch", "MarkdownV2"), ("*open", "MarkdownV2"),
                       ("<div>x</div>", "HTML"), ("<b><i>x</b></i>", "HTML")]:
        with pytest.raises(MarkupError):
            visible_text(text, mode)


def test_check_reply_markup() -> None:
    assert check_reply_markup({"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}) is None
    assert check_reply_markup({"inline_keyboard": [[{"text": "a"}]]}) is not None
    assert check_reply_markup({"remove_keyboard": True}) is None
    assert check_reply_markup(json.loads('{"nonsense": 1}')) is not None
