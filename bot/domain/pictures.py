"""The picture of each position and self-assessment test (a plain labelled card for now).

    pictures = load_pictures(program)
    key = pictures.key_for("pigeon", "band")   # or key_for_test("hip_rotation")
    png, digest, alt = pictures.render(key), pictures.digest(key), pictures.alt(key)
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from bot.domain.content import PLACES, Program

_STYLE = "card-1"  # part of every digest: a new drawing style uploads every picture again


class Pictures:
    def __init__(self, titles: dict[str, str]) -> None:
        self._titles = titles

    def key_for(self, position_id: str, place: str) -> str:
        return self._known(f"{position_id}.{place}")

    def key_for_test(self, question_id: str) -> str:
        return self._known(f"test.{question_id}")

    def keys(self) -> tuple[str, ...]:
        return tuple(self._titles)

    def render(self, key: str) -> bytes:
        from matplotlib.figure import Figure

        figure = Figure(figsize=(4, 3), dpi=100)
        figure.text(0.5, 0.5, self.alt(key), ha="center", va="center", wrap=True, fontsize=14)
        out = io.BytesIO()
        figure.savefig(out, format="png")
        return out.getvalue()

    def digest(self, key: str) -> str:
        return hashlib.sha256(f"{_STYLE}:{self._known(key)}".encode()).hexdigest()[:16]

    def alt(self, key: str) -> str:
        return self._titles[self._known(key)]

    def _known(self, key: str) -> str:
        if key not in self._titles:
            raise KeyError(f"no picture {key!r}")
        return key


def load_pictures(program: Program, directory: Path | None = None) -> Pictures:
    titles: dict[str, str] = {}
    for _stretch, position in program.positions():
        for place in PLACES:
            titles[f"{position.id}.{place}"] = position.variant(place).name
    for question in program.assessment.questions:
        titles[f"test.{question.id}"] = question.text
    return Pictures(titles)
