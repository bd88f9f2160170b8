"""The translation layer: a new language is a catalogue, not a code change."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from bot.domain import i18n
from bot.domain.i18n import _, language_for


@pytest.fixture
def spanish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = Catalog(locale="es")
    catalog.add("Hi! Send /start to begin.", "¡Hola! Envía /start para empezar.")
    catalog.add("Your next break: {when}.", "Tu próxima pausa: {when}.")
    folder = tmp_path / "es" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    monkeypatch.setattr(i18n, "LOCALES", tmp_path)
    monkeypatch.setattr(i18n, "LANGUAGES", ("en", "es"))
    i18n._translations.cache_clear()
    yield
    i18n._translations.cache_clear()


def test_a_catalogue_translates_and_fills_in_values(spanish: None) -> None:
    assert _("Hi! Send /start to begin.", "es") == "¡Hola! Envía /start para empezar."
    assert _("Your next break: {when}.", "es", when="10:00") == "Tu próxima pausa: 10:00."
    # Untranslated sentences fall back to English rather than failing.
    assert _("Snoozed", "es") == "Snoozed"
    assert _("Hi! Send /start to begin.", "en") == "Hi! Send /start to begin."


def test_telegram_language_codes_map_to_a_supported_language(spanish: None) -> None:
    assert language_for("es-MX") == "es"
    assert language_for("pt-BR") == "en"
    assert language_for(None) == "en"


def test_the_message_template_lists_what_the_bot_says() -> None:
    template = (i18n.LOCALES / "messages.pot").read_text()
    assert 'msgid "Hi! Send /start to begin."' in template
    assert template.count("msgid ") > 100
