"""The translation layer: a new language is a catalogue, not a code change."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from bot.domain import i18n
from bot.domain.i18n import _, language_for


@pytest.fixture
def spanish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = Catalog(locale="es")
    catalog.add("Hi! Send /start to begin.", "¡Hola! Envía /start para empezar.")
    catalog.add("Your next break: {when}.", "Tu próxima pausa: {when}.")
    catalog.add("Stretch {count} times.", "Estira {cuenta} veces.")  # a broken placeholder
    catalog.add("Hold it.", "Aguanta.", flags=("fuzzy",))  # its English changed since
    catalog.add("Kneel.", "Arrodíllate.", context="stretch.a.name")
    folder = tmp_path / "es" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.po").open("wb") as handle:
        write_po(handle, catalog)
    monkeypatch.setattr(i18n, "LOCALES", tmp_path)
    i18n.catalogue.cache_clear()
    yield
    i18n.catalogue.cache_clear()


def test_a_catalogue_translates_and_fills_in_values(spanish: None) -> None:
    assert _("Hi! Send /start to begin.", "es") == "¡Hola! Envía /start para empezar."
    assert _("Your next break: {when}.", "es", when="10:00") == "Tu próxima pausa: 10:00."
    # Untranslated sentences fall back to English rather than failing.
    assert _("Snoozed", "es") == "Snoozed"
    assert _("Hi! Send /start to begin.", "en") == "Hi! Send /start to begin."


def test_broken_or_stale_translations_are_said_in_english(spanish: None) -> None:
    assert _("Stretch {count} times.", "es", count=3) == "Stretch 3 times."
    assert _("Hold it.", "es") == "Hold it."
    # A content text is found under its id, and by its English where the code passes only that.
    assert i18n.pgettext("stretch.a.name", "Kneel.", "es") == "Arrodíllate."
    assert i18n.pgettext("stretch.b.name", "Kneel.", "es") == "Kneel."
    assert _("Kneel.", "es") == "Arrodíllate."
    # A language without a catalogue speaks English.
    assert _("Hi! Send /start to begin.", "fr") == "Hi! Send /start to begin."


def test_telegram_language_codes_map_to_a_supported_language(spanish: None) -> None:
    assert language_for("es-MX") == "es"
    assert language_for("es") == "es"
    assert language_for("ES-es") == "es"
    assert language_for("es-419") == "es"
    assert language_for("en-US") == "en"
    assert language_for("") == "en"
    assert language_for("pt-BR") == "en"
    assert language_for(None) == "en"


def test_the_message_template_lists_what_the_bot_says() -> None:
    template = (i18n.LOCALES / "messages.pot").read_text()
    assert 'msgid "Hi! Send /start to begin."' in template
    assert template.count("msgid ") > 100
