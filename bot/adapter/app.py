"""The application factory: wires python-telegram-bot to the database and the dispatcher.

    run_polling(services)            # or run_dispatcher_only; web.py: run_webhook
    application = build_application(services, dispatch=False, request=recorder)  # tests
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from datetime import timedelta

from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest, HTTPXRequest

from bot.adapter.countdown import start_countdown
from bot.adapter.limiter import ChatFloodLimiter
from bot.adapter.photos import Photos
from bot.adapter.profile import update_profile
from bot.adapter.router import delivery, register_handlers
from bot.adapter.sender import TelegramSender
from bot.adapter.wakeup import tick, wake_at
from bot.config import Settings
from bot.domain.clock import real_seconds
from bot.domain.i18n import N_, _, language_for
from bot.logs import started
from bot.outbox.dispatcher import SENDS_AT_ONCE, Dispatcher
from handlers.account import unsubscribe
from handlers.calendar import sync_feeds
from handlers.calendar_fetch import new_client
from handlers.jobs import make_jobs
from handlers.turn import Services

log = logging.getLogger(__name__)

# What a stopping process gives its sends in flight: platforms kill it 30 s after SIGTERM.
STOP_GRACE_SECONDS = 8.0
CALENDAR_TICK = timedelta(seconds=3)

MENU = [
    ("start", N_("Subscribe and set up")),
    ("stretch", N_("A stretch break now")),
    ("routine", N_("The whole sequence (about 35 minutes)")),
    ("assess", N_("The hip self-assessment")),
    ("progress", N_("Your progress")),
    ("report", N_("A one-page PDF for your physiotherapist")),
    ("settings", N_("Change your settings")),
    ("pause", N_("Pause reminders")),
    ("calendar", N_("Breaks between your meetings")),
    ("resume", N_("Resume reminders")),
    ("export", N_("Your history as a CSV file")),
    ("privacy", N_("What is stored and why")),
    ("delete", N_("Erase all your data")),
    ("stop", N_("Unsubscribe")),
    ("help", N_("How this works, and when to see a professional")),
]


# The updates the bot answers; everything else Telegram need not send. my_chat_member says
# at once that a user blocked (or unblocked) the bot.
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


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
        # Answers to a user's own taps: on a 429, wait as told and try again. (Due messages
        # go out through the dispatcher's own Bot: see _dispatcher_sender.)
        # 28/s, not Telegram's 30: timing jitter past 30 gets a 429. A 429 holds only the
        # chat it was for (limiter.py).
        .rate_limiter(ChatFloodLimiter(overall_max_rate=REPLIES_PER_SECOND, max_retries=5))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .concurrent_updates(True)
    )
    if not polling:
        builder = builder.updater(None)
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    base, files = _api_urls(settings)
    builder = builder.base_url(base).base_file_url(files)
    application = builder.build()
    application.bot_data["services"] = services
    application.bot_data["dispatch"] = dispatch
    if services.pictures is not None:
        # One per process: the file_ids it learns serve replies and due messages alike.
        application.bot_data["photos"] = Photos(services.pictures, services.database,
                                                services.clock)
    register_handlers(application)
    application.add_error_handler(_on_error)
    return application


REPLIES_PER_SECOND = 28


def _api_urls(settings: Settings) -> tuple[str, str]:
    """(base_url, base_file_url): Telegram's, or a local Bot API server's given as
    TELEGRAM_API_BASE_URL."""
    base = (settings.telegram_api_base_url or "https://api.telegram.org/bot").rstrip("/")
    return base, base.removesuffix("/bot") + "/file/bot"


async def who_am_i(settings: Settings) -> str:
    """The bot's @name from getMe: proves Telegram is reachable and accepts the token.
    Raises telegram.error.InvalidToken (401) or NetworkError (unreachable) otherwise."""
    # No retries here: the caller decides when to try again, and says so in one line.
    base, files = _api_urls(settings)
    bot = Bot(settings.telegram_bot_token, base_url=base, base_file_url=files)
    async with bot:
        return bot.username


def services_of(application: Application) -> Services:
    services: Services = application.bot_data["services"]
    return services


async def _post_init(application: Application) -> None:
    services = services_of(application)
    if application.bot_data.get("updates", True):
        # In a thread, while the bot starts polling or serving: not on the first lookup.
        services.places.start()
    services.bot_username = application.bot.username
    await update_profile(application.bot, services.settings, MENU)
    if application.bot_data.get("dispatch", True):
        # The countdown's edits share the dispatcher's pace, so they queue behind reminders.
        sender = await _dispatcher_sender(application, services.settings)
        dispatcher = Dispatcher(
            services.database,
            sender,
            services.clock,
            make_jobs(services),
            on_blocked=unsubscribe,
            lease=timedelta(seconds=services.settings.dispatch_lease_seconds),
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
        # Calendar feeds: each user's falls due at its own moment of the half hour; a loop
        # of its own fetches the due ones, then waits CALENDAR_TICK (of the bot's clock), so
        # they go out in small batches.
        application.bot_data["calendar_client"] = new_client()
        application.bot_data["calendar_task"] = asyncio.create_task(
            _sync_calendars(application), name="calendar-feeds")
    photos: Photos | None = application.bot_data.get("photos")
    if photos is not None:
        # In the background: nothing waits for it, and a send meanwhile draws on demand.
        application.bot_data["photos_ready"] = asyncio.create_task(_prepare(photos))
    assert application.job_queue is not None
    # The job queue runs once the application has started: from then on, errors of
    # third-party libraries keep their tracebacks (bot.logs).
    application.job_queue.run_once(_started, 0, name="started")


async def _prepare(photos: Photos) -> None:
    try:
        started = time.perf_counter()
        missing = await photos.prepare()
    except Exception:
        log.exception("could not read the stored pictures; each is looked up when sent")
        return
    if missing:
        log.info("%s pictures are not uploaded yet; ready to draw them (%.1f s)", missing,
                 time.perf_counter() - started)
async def _sync_calendars(application: Application) -> None:
    services = services_of(application)
    pause = max(real_seconds(services.clock, CALENDAR_TICK), 0.2)
    while True:
        try:
            wake = await sync_feeds(services, application.bot_data["calendar_client"])
        except Exception:  # noqa: BLE001 - the next round tries again
            log.exception("calendar feeds could not be fetched")
        else:
            if wake is not None:
                wake_at(application, wake)
        await asyncio.sleep(pause)


async def _stop_calendars(application: Application) -> None:
    task: asyncio.Task[None] | None = application.bot_data.pop("calendar_task", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _started(_context: ContextTypes.DEFAULT_TYPE) -> None:
    started()


def dispatcher_bot(settings: Settings) -> Bot:
    """Due messages go out through a Bot of their own, without the application's rate
    limiter: it would sleep through 429s inside a send, past the row's lease. Flood control
    has one owner on this path, the dispatcher: a 429 sends the row back with retry_after."""
    base, files = _api_urls(settings)
    # A connection per send in flight, not PTB's 256: httpcore checks every idle connection
    # of its pool (two system calls each) whenever a request starts or ends.
    return Bot(settings.telegram_bot_token,
               request=HTTPXRequest(connection_pool_size=SENDS_AT_ONCE),
               base_url=base, base_file_url=files)


async def _dispatcher_sender(application: Application, settings: Settings) -> TelegramSender:
    bot = dispatcher_bot(settings)
    await bot.initialize()
    application.bot_data["dispatcher_bot"] = bot
    return TelegramSender(bot, settings.dispatch_messages_per_second,
                          application.bot_data.get("photos"))


async def stop_dispatching(application: Application) -> None:
    """Stops claiming due messages and lets the sends in flight end (within the grace)."""
    await _stop_calendars(application)
    dispatcher: Dispatcher | None = application.bot_data.get("dispatcher")
    if dispatcher is None:
        return
    try:
        await asyncio.wait_for(dispatcher.stop(), STOP_GRACE_SECONDS)
    except TimeoutError:
        log.warning("sends still in flight at shutdown; their leases will run out")


async def _post_shutdown(application: Application) -> None:
    bot: Bot | None = application.bot_data.get("dispatcher_bot")
    if bot is not None:
        await bot.shutdown()
    await _stop_calendars(application)
    calendar_client = application.bot_data.get("calendar_client")
    if calendar_client is not None:
        await calendar_client.aclose()
    await services_of(application).database.close()
    log.info("stopped; database closed")


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    user_id = update.effective_user.id if isinstance(update, Update) and update.effective_user \
        else None
    log.error("update for user %s failed", user_id, exc_info=context.error)
    webhook = delivery.get()
    if webhook is not None and webhook.failed:
        return  # nothing was done: Telegram delivers the update again
    if isinstance(update, Update) and update.effective_chat is not None:
        # The apology is best effort: the failure is already logged above.
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(
                update.effective_chat.id,
                _("Sorry, something went wrong on my side. Please try that again.",
                  language_for(getattr(update.effective_user, "language_code", None))),
            )


async def start_services(application: Application) -> None:
    """Starts the dispatcher and the application (every mode runs its own serve loop)."""
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


def run_polling(services: Services) -> None:
    """Long polling (one process per token), stopping cleanly on SIGTERM."""
    application = build_application(services)

    async def serve() -> None:
        stop = stop_requested()
        async with application:
            # What start-up built (content, modules, mappers) lives as long as the process:
            # out of the collector's sight, or each full collection walks it.
            gc.freeze()
            await _post_init(application)
            assert application.updater is not None
            # Polling first, then the dispatcher, as PTB's own run_polling does.
            await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
            await application.start()
            await stop.wait()
            log.info("stopping: no more updates or due messages; finishing what is in flight")
            await application.updater.stop()
            await stop_dispatching(application)
            await application.stop()
        await stop_services(application)

    asyncio.run(serve())


def run_dispatcher_only(services: Services) -> None:
    """Runs only the dispatcher (no updates): an extra sender beside a poller or webhook."""
    application = build_application(services, polling=False)
    application.bot_data["updates"] = False  # no place names to look up here

    async def serve() -> None:
        stop = stop_requested()
        async with application:
            # What start-up built (content, modules, mappers) lives as long as the process:
            # out of the collector's sight, or each full collection during a drain walks it
            # (the app's other modes do the same).
            gc.freeze()
            await start_services(application)
            log.info("dispatcher running")
            await stop.wait()
            log.info("stopping: no more due messages; finishing the sends in flight")
            await stop_dispatching(application)
            await application.stop()
        await stop_services(application)

    asyncio.run(serve())
