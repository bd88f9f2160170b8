"""The one translation layer: every sentence the bot says goes through `_`.

    _("Your next break is at {time}.", user.language, time="10:00")

Catalogues live in bot/locales/<lang>/LC_MESSAGES/messages.po (the template is extracted
with the command in babel.cfg). English is the source language, so a missing catalogue
falls back to the text as written.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

LOCALES = Path(__file__).parents[1] / "locales"
DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en",)


@cache
def _translations(language: str) -> gettext.NullTranslations:
    return gettext.translation("messages", LOCALES, languages=[language], fallback=True)


def language_for(code: str | None) -> str:
    """The supported language closest to a Telegram language code such as 'en-GB'."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def _(message: str, language: str = DEFAULT_LANGUAGE, **params: object) -> str:
    text = _translations(language).gettext(message)
    return text.format(**params) if params else text


def N_(message: str) -> str:
    """Marks a string for extraction where it is translated later (data, tables)."""
    return message
