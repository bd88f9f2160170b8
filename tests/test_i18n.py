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


def test_dates_and_the_csv_header_follow_the_language() -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from bot.domain.timefmt import local_day_and_time
    from handlers.progress import COLUMNS, to_csv

    now, at = datetime(2026, 11, 30, 9, tzinfo=UTC), datetime(2026, 12, 3, 10, tzinfo=UTC)
    english = SimpleNamespace(time_zone="Europe/Madrid", language="en")
    spanish = SimpleNamespace(time_zone="Europe/Madrid", language="es")
    # The English wording is unchanged ("Thu 3 Dec"); Spanish gets its own day and month.
    assert local_day_and_time(at, english, now) == "Thu 3 Dec at 11:00"
    assert local_day_and_time(at, spanish, now) == "jue 3 dic a las 11:00"
    assert to_csv([], "en").decode().splitlines() == [",".join(COLUMNS)]
    assert to_csv([], "es").decode().startswith("registro,hora,tipo_de_pausa,estado,")


def test_ratings_and_work_days_typed_in_spanish() -> None:
    from bot.domain.parsing import Ratings, parse_ratings, parse_work_days, parse_work_hours

    assert parse_ratings("dolor 3 rigidez 5") == Ratings(pain=3, stiffness=5)
    assert parse_ratings("Rigidez 5, dolor 3") == Ratings(pain=3, stiffness=5)
    assert parse_ratings("d3 r5") == Ratings(pain=3, stiffness=5)
    assert parse_ratings("3 y 5") == Ratings(pain=3, stiffness=5)
    assert parse_work_days("lun-vie") == parse_work_days("lunes a viernes") == 0b0011111
    assert parse_work_days("Lun, Mié, Vie") == 0b0010101
    assert parse_work_days("todos los días") == 0b1111111
    assert str(parse_work_hours("de 9 a 17")) == str(parse_work_hours("9-17"))
