"""The Spanish catalogue: complete, faithful to each text's placeholders, and in step with the
code and the content it translates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Message
from babel.messages.pofile import read_po

from bot.domain import i18n
from bot.domain.content import load_program
from bot.domain.i18n import _, pgettext, placeholders

ROOT = Path(__file__).parents[1]
TEMPLATE = ROOT / "bot" / "locales" / "messages.pot"
# Texts that read the same in both languages: names, units, figures.
SAME_IN_SPANISH = {"{label}: {week} / {month}", "30 min", "{number}/{total} · {name}", "no"}


def _entries(path: Path, locale: str | None = None) -> dict[tuple[str | None, str], Message]:
    with path.open("rb") as handle:
        return {(m.context, m.id): m for m in read_po(handle, locale=locale)
                if m.id and isinstance(m.id, str)}


def _missing() -> list[tuple[str | None, str]]:
    spanish = _entries(i18n.po_path("es"), "es")
    return [key for key in _entries(TEMPLATE)
            if key not in spanish or spanish[key].fuzzy or not spanish[key].string]


def test_the_template_is_up_to_date_with_the_code_and_the_content(tmp_path: Path) -> None:
    # The same command as in content/README.md, into a scratch file.
    out = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "t", "-k", "N_", "--no-location", "--omit-header", "-o", str(out), "."],
                   cwd=ROOT, check=True, capture_output=True,
                   env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.read_text() == TEMPLATE.read_text(), "run the extract command in content/README.md"


def test_content_texts_are_in_the_template_under_their_ids() -> None:
    template = _entries(TEMPLATE)
    for _file, key, text in load_program().catalogue():
        assert (key, text) in template


def test_every_spanish_translation_keeps_the_placeholders_and_differs_from_english() -> None:
    template = _entries(TEMPLATE)
    for (context, english), message in _entries(i18n.po_path("es"), "es").items():
        assert (context, english) in template, f"obsolete entry: {english!r}"
        spanish = message.string
        if not spanish:
            continue
        assert placeholders(spanish) == placeholders(english), english
        if english not in SAME_IN_SPANISH:
            assert spanish != english, f"not translated: {english!r}"


def test_every_text_has_its_spanish() -> None:
    missing = _missing()
    assert not missing, f"{len(missing)} texts have no Spanish yet, e.g. {missing[:3]}"


def test_every_content_text_reads_in_spanish_where_shown() -> None:
    for _file, key, text in load_program().catalogue():
        assert pgettext(key, text, "es") != text, key
        assert _(text, "es") != text, key


@pytest.mark.parametrize("english", ["Your next break: {when}.", "Saved: pain {pain}/10, "
                                     "stiffness {stiffness}/10."])
def test_spanish_fills_in_the_same_values(english: str) -> None:
    text = _(english, "es", when="mañana a las 10:00", pain=3, stiffness=5)
    assert "{" not in text and text != english.format(when="mañana a las 10:00", pain=3,
                                                       stiffness=5)
