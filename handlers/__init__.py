"""Telegram handlers: thin adapters from updates to the domain and back.

Each domain module lists what it answers to: `COMMANDS` (name → function), `BUTTONS`
(callback-data prefix → function) and `STEPS` (conversation step → function for typed
text). A function takes a `Turn` and returns an `Answer`. Everything else (stickers,
photos, free text out of context, old buttons) gets a friendly fallback.
"""

from __future__ import annotations

from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from handlers.router import on_button, on_command, on_location, on_other, on_text


def register_handlers(application: Application) -> None:
    application.add_handler(MessageHandler(filters.COMMAND, on_command))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(filters.LOCATION, on_location))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    application.add_handler(MessageHandler(filters.ALL, on_other))
