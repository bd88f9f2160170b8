"""The application factory: wires python-telegram-bot to the database and the dispatcher.

    application = build_application(settings, services)
    application.run_polling()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest

from bot.adapter.countdown import start_countdown
from bot.adapter.router import register_handlers
from bot.adapter.sender import TelegramSender
from bot.adapter.wakeup import tick
from bot.domain.clock import real_seconds
from bot.domain.i18n import _
from bot.outbox.dispatcher import Dispatcher
from handlers.account import unsubscribe
from handlers.jobs import make_jobs
from handlers.turn import Services

log = logging.getLogger(__name__)

MENU = [
    ("start", "Subscribe and set up"),
    ("stretch", "A stretch break now"),
    ("routine", "The whole sequence (about 35 minutes)"),
    ("assess", "The hip self-assessment"),
    ("progress", "Your progress"),
    ("settings", "Change your settings"),
    ("pause", "Pause reminders"),
    ("resume", "Resume reminders"),
    ("export", "Your history as a CSV file"),
    ("privacy", "What is stored and why"),
    ("delete", "Erase all your data"),
    ("stop", "Unsubscribe"),
    ("help", "How this works, and when to see a professional"),
]


# The updates the bot answers; everything else Telegram need not send.
ALLOWED_UPDATES = ["message", "callback_query"]


def build_application(
    services: Services,
    *,
    dispatch: bool = True,
    polling: bool = True,
    request: BaseRequest | None = None,
) -> Application:
    """The bot's Application. `request` replaces the HTTP layer (in-process tests)."""
    settings = services.settings
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .defaults(Defaults(parse_mode=None, disable_notification=False))
        # Telegram's flood control answers 429 with retry_after: wait and try again.
        .rate_limiter(AIORateLimiter(max_retries=5))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .concurrent_updates(True)
    )
    if not polling:
        builder = builder.updater(None)
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if settings.telegram_api_base_url:
        base = settings.telegram_api_base_url.rstrip("/")
        builder = builder.base_url(base).base_file_url(base.removesuffix("/bot") + "/file/bot")
    application = builder.build()
    application.bot_data["services"] = services
    application.bot_data["dispatch"] = dispatch
    register_handlers(application)
    application.add_error_handler(_on_error)
    return application


def services_of(application: Application) -> Services:
    services: Services = application.bot_data["services"]
    return services


async def _post_init(application: Application) -> None:
    services = services_of(application)
    await _set_menu(application, services)
    if application.bot_data.get("dispatch", True):
        sender = TelegramSender(application.bot)
        dispatcher = Dispatcher(
            services.database,
            sender,
            services.clock,
            make_jobs(services),
            on_blocked=unsubscribe,
        )
        application.bot_data["dispatcher"] = dispatcher
        assert application.job_queue is not None
        # The safety net: whatever another process scheduled is picked up this often.
        interval = real_seconds(services.clock,
                                timedelta(seconds=services.settings.dispatch_interval_seconds))
        # Two instances allowed: the second returns at once while a long drain runs,
        # instead of APScheduler logging a skipped run every interval.
        application.job_queue.run_repeating(tick, interval=max(interval, 0.5), first=0.1,
                                            name="dispatcher-safety",
                                            job_kwargs={"max_instances": 2})
        start_countdown(application, services, sender)


async def _set_menu(application: Application, services: Services) -> None:
    commands = [BotCommand(name, _(text)) for name, text in MENU]
    try:
        await application.bot.set_my_commands(commands)
        for admin in services.settings.admin_user_ids:
            await application.bot.set_my_commands(
                [*commands, BotCommand("stats", _("Usage figures for operators"))],
                scope=BotCommandScopeChat(admin),
            )
    except TelegramError as exc:
        # The menu is a convenience; the bot works without it.
        log.warning("could not set the command menu: %s", exc)


async def _post_shutdown(application: Application) -> None:
    await services_of(application).database.close()
    log.info("stopped; database closed")


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    user_id = update.effective_user.id if isinstance(update, Update) and update.effective_user \
        else None
    log.error("update for user %s failed", user_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        # The apology is best effort: the failure is already logged above.
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(
                update.effective_chat.id,
                _("Sorry, something went wrong on my side. Please try that again."),
            )


async def start_services(application: Application) -> None:
    """What run_polling does around polling, for the modes that do not poll."""
    await _post_init(application)
    await application.start()


async def stop_services(application: Application) -> None:
    await _post_shutdown(application)


def stop_requested() -> asyncio.Event:
    """An event set on SIGINT or SIGTERM (how platforms ask a process to end)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def run_dispatcher_only(services: Services) -> None:
    """Runs only the dispatcher (no updates): an extra sender beside a poller or webhook."""
    application = build_application(services, polling=False)

    async def serve() -> None:
        stop = stop_requested()
        async with application:
            await start_services(application)
            log.info("dispatcher running")
            await stop.wait()
            await application.stop()
        await stop_services(application)

    asyncio.run(serve())
