"""The one translation layer: every sentence the bot says goes through `_`.

    _("Your next break is at {time}.", user.language, time="10:00")

Catalogues live in bot/locales/<lang>/LC_MESSAGES/messages.po and are read straight from
the .po with Babel on first use (no compiled .mo to keep in step). English is the source
language: a text with no translation, a fuzzy one (its English changed since it was
translated) or a broken one (placeholders that do not match) is said in English.
Content texts carry their stable id as context (see bot.domain.content_catalogue), so an
edit to the English marks the Spanish as needing review instead of silently dropping it.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = Path(__file__).parents[1] / "locales"
DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "es")
LANGUAGE_NAMES = {"en": "English", "es": "Español"}


@dataclass
class Catalogue:
    """Translations of one language: by (context, English) and, for the code's call sites
    that pass only the English, by English alone."""

    by_key: dict[tuple[str | None, str], str] = field(default_factory=dict)
    by_text: dict[str, str] = field(default_factory=dict)

    def get(self, message: str, context: str | None = None) -> str | None:
        if context is not None:
            return self.by_key.get((context, message))
        return self.by_key.get((None, message)) or self.by_text.get(message)


def placeholders(text: str) -> set[str]:
    try:
        return {name for _lit, name, _spec, _conv in string.Formatter().parse(text)
                if name is not None}
    except ValueError:
        return {"<malformed>"}


def po_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


@cache
def catalogue(language: str) -> Catalogue:
    out = Catalogue()
    path = po_path(language)
    if language == DEFAULT_LANGUAGE or not path.exists():
        return out
    with path.open("rb") as handle:
        po = read_po(handle, locale=language)
    for message in po:
        if not message.id or not isinstance(message.id, str) or message.fuzzy:
            continue
        text = message.string
        if not isinstance(text, str) or not text.strip():
            continue
        if placeholders(text) != placeholders(message.id):
            continue  # a broken translation would show "{name}" or crash: English instead
        out.by_key[(message.context, message.id)] = text
        out.by_text.setdefault(message.id, text)
    return out


def language_for(code: str | None) -> str:
    """The supported language closest to a Telegram language code such as 'es-419'."""
    base = (code or "").replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def _(message: str, language: str = DEFAULT_LANGUAGE, **params: object) -> str:
    text = catalogue(language).get(message) if language != DEFAULT_LANGUAGE else None
    return _format(text or message, message, params)


def pgettext(context: str, message: str, language: str = DEFAULT_LANGUAGE,
             **params: object) -> str:
    """A text under its stable id (content): the translation made for exactly this id and
    this English, else the English."""
    text = catalogue(language).get(message, context) if language != DEFAULT_LANGUAGE else None
    return _format(text or message, message, params)


def _format(text: str, english: str, params: dict[str, object]) -> str:
    if not params:
        return text
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return english.format(**params)


def N_(message: str) -> str:
    """Marks a string for extraction where it is translated later (data, tables)."""
    return message
