"""What the playground prints for the bot's messages, and how it reads what the person types."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from standin import ChatMessage

HELP = """\
Type a message and press Enter to send it, or:
  /command args    send a command: /start, /stretch, /routine, /progress, /settings, /help ...
  1, 2, ...        press that button of the latest message that has buttons
  !say TEXT        send TEXT as it is (to send a bare number, for instance)
  «Key»            a reply-keyboard key: type its text (for a location key, use !loc)
  !loc LAT LON     share a location, e.g. !loc 40.4 -3.7
  !sticker         send a sticker
  !help            this list
  !quit            stop the bot and leave (Ctrl-D does the same)"""

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(@\w+)?")


class InputError(ValueError):
    """A line the playground cannot use; the message is the one-line hint to print."""


@dataclass(frozen=True)
class Action:
    kind: str  # text, command, press, location, sticker, help, quit
    text: str = ""
    number: int = 0
    latitude: float = 0.0
    longitude: float = 0.0


def parse_line(line: str) -> Action | None:
    """The action a typed line asks for (None for a blank line); raises InputError."""
    line = line.strip()
    if not line:
        return None
    # Up to two digits is a button; longer numbers are ordinary text.
    if re.fullmatch(r"[0-9]{1,2}", line):
        return Action("press", number=int(line))
    if not line.startswith("!"):
        is_command = _COMMAND.fullmatch(line.split(maxsplit=1)[0])
        return Action("command" if is_command else "text", text=line)
    word, _, rest = line.partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in ("!quit", "!exit", "!help", "!sticker"):
        return Action("quit" if word == "!exit" else word[1:])
    if word == "!say" and rest:
        return Action("text", text=rest)
    if word == "!loc":
        try:
            latitude, longitude = (float(part) for part in rest.replace(",", " ").split())
        except ValueError:
            raise InputError("usage: !loc LATITUDE LONGITUDE, e.g. !loc 40.4 -3.7") from None
        if -90 <= latitude <= 90 and -180 <= longitude <= 180:
            return Action("location", latitude=latitude, longitude=longitude)
        raise InputError("latitude goes from -90 to 90, longitude from -180 to 180")
    raise InputError("usage: !say TEXT" if word == "!say"
                     else f"unknown playground command {word!r}; !help lists them")


def inline_buttons(msg: ChatMessage) -> list[dict[str, Any]]:
    """The message's inline buttons in reading order: button n is item n - 1."""
    rows = (msg.reply_markup or {}).get("inline_keyboard") or []
    return [button for row in rows for button in row]


def render(msg: ChatMessage, when: str, *, edited: bool = False,
           saved: Path | None = None) -> str:
    """A bot message as a block of terminal text: header, body, file, buttons."""
    lines = [f"── bot #{msg.message_id}{' (edited)' if edited else ''} · {when} ──"]
    if msg.file is not None and not edited:
        where = str(saved) if saved else msg.file.url or "not saved"
        lines.append(f"[{msg.media_kind}: {where}]")
    body = msg.text if msg.text is not None else msg.caption
    lines += (body or "").splitlines()
    rows = (msg.reply_markup or {}).get("inline_keyboard") or []
    number = 0
    for row in rows:
        cells = []
        for button in row:
            number += 1
            link = f" ({button['url']})" if "url" in button else ""
            cells.append(f"[{number}] {button['text']}{link}")
        lines.append("  ".join(cells))
    keys = [key for row in msg.reply_keyboard or [] for key in row]
    if keys:
        # A reply-keyboard key just sends its text, so the person types it (or uses !loc).
        cells = [f"«{key['text']}»" + (" (!loc LAT LON)" if key.get("request_location") else "")
                 for key in keys]
        lines.append("keyboard: " + "  ".join(cells))
    return "\n".join(lines)
