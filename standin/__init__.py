"""A local stand-in for the Telegram Bot API, for driving the bot in tests.

    from standin import BotAPIStandIn

    async with BotAPIStandIn(token=TOKEN) as standin:
        bot = telegram.Bot(TOKEN, base_url=standin.base_url)
        ana = standin.user(1001, first_name="Ana")
        await ana.command("/start")
        reply = await ana.next_message()

See server.py for the server and its fault controls, users.py for the
simulated user, and `python -m standin --help` to run it standalone.
"""

from standin.api import ApiError, Params
from standin.markup import MarkupError, check_reply_markup, visible_text
from standin.server import TOKEN_RE, BotAPIStandIn
from standin.state import CallbackAnswer, CallRecord, ChatMessage, Edit, StoredFile
from standin.users import SimulatedUser

__all__ = [
    "TOKEN_RE",
    "ApiError",
    "BotAPIStandIn",
    "CallRecord",
    "CallbackAnswer",
    "ChatMessage",
    "Edit",
    "MarkupError",
    "Params",
    "SimulatedUser",
    "StoredFile",
    "check_reply_markup",
    "visible_text",
]
