"""Content texts into the translation template, by the same `pybabel extract` as the code.

babel.cfg registers `extract_content` for content/*.yaml: each text goes in with its stable
id as msgctxt (e.g. "stretch.front_hip.positions.fh_9090.variants.band.setup").
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from bot.domain.content import load_program


def extract_content(fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str],
                    options: Mapping[str, Any]) -> Iterator[tuple[int, str, tuple[str, str],
                                                              list[str]]]:
    path = Path(getattr(fileobj, "name", ""))
    program = load_program(path.parent)
    for file, key, text in program.catalogue():
        if file == path.name:
            yield 0, "pgettext", (key, text), []
