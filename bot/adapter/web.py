"""Webhook mode: Telegram posts updates to us; several instances can share the stream.

    python -m bot web     # listens on $PORT, registers $WEBHOOK_URL with $WEBHOOK_SECRET

Each instance also runs the dispatcher; claims in the database keep every due message to
one sender. An update delivered twice (Telegram retries a webhook that failed or timed out)
is handled once: its id is recorded in the same transaction as the turn's work, and a
request whose transaction failed answers 503, so Telegram delivers the update again.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import json
import logging
from datetime import timedelta

from aiohttp import web
from sqlalchemy import delete, text
from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.adapter.app import (
    ALLOWED_UPDATES,
    build_application,
    services_of,
    start_services,
    stop_dispatching,
    stop_requested,
    stop_services,
)
from bot.adapter.router import Delivery, delivery
from bot.storage.models import HandledUpdate
from handlers.turn import Services

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
KEEP_HANDLED_IDS = timedelta(days=2)


def make_web_app(application: Application) -> web.Application:
    services = services_of(application)
    secret = (services.settings.webhook_secret or "").encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not secret or not hmac.compare_digest(given, secret):
            log.warning("webhook request without the right secret from %s", request.remote)
            return web.Response(status=403)
        try:
            payload = await request.json()
            update = Update.de_json(payload, application.bot)
        except (json.JSONDecodeError, TypeError, ValueError, KeyError):
            return web.Response(status=400)
        handling = Delivery(update.update_id)
        token = delivery.set(handling)
        try:
            await application.process_update(update)
        finally:
            delivery.reset(token)
        if handling.failed:
            # Nothing was committed: Telegram delivers it again, and it is handled then.
            log.warning("update %s not handled (database unavailable); refused",
                        update.update_id)
            return web.Response(status=503)
        return web.Response(status=200)

    async def health(_request: web.Request) -> web.Response:
        try:
            async with services.database.session() as session:
                await session.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            return web.json_response({"database": "unreachable", "error": type(exc).__name__},
                                     status=503)
        return web.json_response({"database": "ok"})

    app = web.Application()
    app.router.add_post(services.settings.webhook_path, receive)
    app.router.add_get("/health", health)
    return app


async def _forget_old_updates(services: Services) -> None:
    async with services.database.session() as session:
        await session.execute(delete(HandledUpdate).where(
            HandledUpdate.handled_at < services.clock() - KEEP_HANDLED_IDS))


def run_webhook(services: Services) -> None:
    settings = services.settings
    application = build_application(services, polling=False)

    async def serve() -> None:
        stop = stop_requested()
        runner = web.AppRunner(make_web_app(application), shutdown_timeout=5)
        async with application:
            gc.freeze()  # what start-up built, out of the collector's sight (see app.py)
            await start_services(application)
            await _forget_old_updates(services)
            await runner.setup()
            await web.TCPSite(runner, "0.0.0.0", settings.port).start()
            try:
                await application.bot.set_webhook(
                    f"{(settings.webhook_url or '').rstrip('/')}{settings.webhook_path}",
                    secret_token=settings.webhook_secret,
                    allowed_updates=ALLOWED_UPDATES,
                )
            except TelegramError as exc:
                log.error("could not register the webhook: %s", exc)
            log.info("webhook listening on port %s", settings.port)
            await stop.wait()
            log.info("stopping: no new requests or due messages; finishing what is in flight")
            await asyncio.gather(runner.cleanup(), stop_dispatching(application))
            await application.stop()
        await stop_services(application)

    asyncio.run(serve())
