"""Telegram text formatting and keyboard rules, as the Bot API enforces them.

`visible_text(text, parse_mode)` returns what the user sees once the HTML /
MarkdownV2 / Markdown markup is applied, or raises `MarkupError` carrying the
"can't parse entities" reason Telegram would give, so a bot that sends a stray
"." in MarkdownV2 or an unclosed <b> fails here as it would in production.
`check_reply_markup(markup)` returns Telegram's error description for an
invalid keyboard (or None when it is valid).
"""

from __future__ import annotations

import html
import re
from typing import Any

__all__ = ["MarkupError", "check_reply_markup", "visible_text"]


class MarkupError(ValueError):
    """Text that Telegram refuses with "can't parse entities: <reason>"."""


def _byte_offset(text: str, index: int) -> int:
    # Telegram reports positions as UTF-8 byte offsets.
    return len(text[:index].encode("utf-8"))


# ---------------------------------------------------------------- HTML
_HTML_TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "tg-emoji", "code", "pre", "blockquote",
})
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")
_ENTITY_RE = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_HTML_SPECIAL = re.compile(r"[<&]")


def _html_visible(text: str) -> str:
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i, n = 0, len(text)
    while i < n:
        m = _HTML_SPECIAL.search(text, i)
        if m is None:
            out.append(text[i:])
            break
        j = m.start()
        out.append(text[i:j])
        if text[j] == "&":
            ent = _ENTITY_RE.match(text, j)
            # Unknown named entities stay literal, as Telegram leaves them.
            out.append(html.unescape(ent.group(0)) if ent else "&")
            i = ent.end() if ent else j + 1
            continue
        tag = _TAG_RE.match(text, j)
        if tag is None:
            raise MarkupError(f'Unsupported start tag "" at byte offset {_byte_offset(text, j)}')
        closing, name, attrs = tag.group(1) == "/", tag.group(2).lower(), tag.group(3)
        if closing:
            if not stack:
                raise MarkupError(f"Unexpected end tag at byte offset {_byte_offset(text, j)}")
            if stack[-1][0] != name:
                raise MarkupError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, j)}, "
                    f'expected "</{stack[-1][0]}>", found "</{name}>"'
                )
            stack.pop()
        else:
            if name not in _HTML_TAGS:
                raise MarkupError(
                    f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, j)}'
                )
            if name == "span" and "tg-spoiler" not in attrs:
                raise MarkupError('Tag "span" must have class "tg-spoiler"')
            stack.append((name, j))
        i = tag.end()
    if stack:
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out)


# ---------------------------------------------------------------- MarkdownV2
_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough",
               "||": "Spoiler", "[": "TextUrl"}


def _mdv2_find_close(text: str, start: int, closer: str) -> int:
    """Index of the first unescaped `closer` at or after `start`, or -1."""
    i, n = start, len(text)
    while i < n:
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(closer, i):
            return i
        i += 1
    return -1


def _mdv2_unescape(chunk: str) -> str:
    return re.sub(r"\\(.)", r"\1", chunk, flags=re.DOTALL)


def _mdv2_visible(text: str) -> str:
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 >= n:
                raise MarkupError(f"Unexpected end of text at byte offset {_byte_offset(text, i)}")
            out.append(text[i + 1])
            i, line_start = i + 2, False
            continue
        if ch == "\n":
            out.append(ch)
            i, line_start = i + 1, True
            continue
        if line_start and (ch == ">" or text.startswith("**>", i)):
            i += 3 if ch == "*" else 1  # block quotation marker
            line_start = False
            continue
        line_start = False
        if ch == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end = _mdv2_find_close(text, i + len(fence), fence)
            if end < 0:
                kind = "Pre" if fence == "```" else "Code"
                raise MarkupError(
                    f"Can't find end of {kind} entity at byte offset {_byte_offset(text, i)}"
                )
            body = text[i + len(fence):end]
            if fence == "```" and "\n" in body:
                first, rest = body.split("\n", 1)
                body = rest if first and " " not in first else body  # drop the language tag
            out.append(_mdv2_unescape(body))
            i = end + len(fence)
            continue
        marker = "__" if text.startswith("__", i) else "||" if text.startswith("||", i) else ch
        if marker in ("*", "_", "__", "~", "||"):
            for k in range(len(stack) - 1, -1, -1):
                if stack[k][0] == marker:
                    del stack[k]
                    break
            else:
                stack.append((marker, i))
            i += len(marker)
            continue
        if ch == "!" and text.startswith("![", i):
            i += 1  # custom emoji: ![👍](tg://emoji?id=...)
            continue
        if ch == "[":
            stack.append(("[", i))
            i += 1
            continue
        if ch == "]" and any(m == "[" for m, _ in stack):
            if not text.startswith("(", i + 1):
                raise MarkupError("Character ']' is reserved and must be escaped with the "
                                  "preceding '\\'")
            close = _mdv2_find_close(text, i + 2, ")")
            if close < 0:
                raise MarkupError(f"Can't find end of a URL at byte offset {_byte_offset(text, i)}")
            while stack and stack[-1][0] != "[":
                stack.pop()
            stack.pop()
            i = close + 1
            continue
        if ch in _MDV2_RESERVED:
            raise MarkupError(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        out.append(ch)
        i += 1
    if stack:
        marker, pos = stack[-1]
        raise MarkupError(
            f"Can't find end of {_MDV2_NAMES[marker]} entity at byte offset "
            f"{_byte_offset(text, pos)}"
        )
    return "".join(out)


# ---------------------------------------------------------------- legacy Markdown
_MD_LINK = re.compile(r"\[([^\]]*)\]\(([^)]*)\)")


def _md_visible(text: str) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
        elif ch in "*_`":
            fence = "```" if text.startswith("```", i) else ch
            end = text.find(fence, i + len(fence))
            if end < 0:
                raise MarkupError(
                    f"Can't find end of the entity starting at byte offset "
                    f"{_byte_offset(text, i)}"
                )
            out.append(text[i + len(fence):end])
            i = end + len(fence)
        elif ch == "[" and (link := _MD_LINK.match(text, i)):
            out.append(link.group(1))
            i = link.end()
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text a user sees (trimmed, as Telegram trims it); raises MarkupError."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        text = _html_visible(text)
    elif mode == "markdownv2":
        text = _mdv2_visible(text)
    elif mode == "markdown":
        text = _md_visible(text)
    elif mode:
        raise MarkupError(f"Unsupported parse_mode {parse_mode}")
    return text.strip()


# ---------------------------------------------------------------- keyboards
_INLINE_ACTIONS = (
    "callback_data", "url", "login_url", "switch_inline_query", "web_app", "pay",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "callback_game",
    "copy_text",
)
_URL_SCHEMES = ("http://", "https://", "tg://")


def _check_inline_button(button: Any) -> str | None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        return ("Bad Request: can't parse inline keyboard button: "
                "Field \"text\" must be of type String")
    if not button["text"].strip():
        return "Bad Request: can't parse inline keyboard button: Text must be non-empty"
    if not any(key in button for key in _INLINE_ACTIONS):
        return ("Bad Request: can't parse inline keyboard button: "
                "Text buttons are unallowed in the inline keyboard")
    data = button.get("callback_data")
    if "callback_data" in button and (
        not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64
    ):
        return "Bad Request: BUTTON_DATA_INVALID"
    url = button.get("url")
    if "url" in button and (not isinstance(url, str) or not url.startswith(_URL_SCHEMES)):
        return f"Bad Request: inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"
    return None


def _rows(markup: dict[str, Any], key: str) -> list[list[Any]] | None:
    rows = markup.get(key)
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        return None
    return rows


def check_reply_markup(markup: Any) -> str | None:
    """Telegram's error description for an invalid reply_markup, or None."""
    bad_json = "Bad Request: can't parse reply keyboard markup JSON object"
    if not isinstance(markup, dict):
        return bad_json
    if "inline_keyboard" in markup:
        rows = _rows(markup, "inline_keyboard")
        if rows is None:
            return "Bad Request: can't parse inline keyboard: Field \"inline_keyboard\" must be " \
                   "of type Array"
        if sum(len(row) for row in rows) > 100:
            return "Bad Request: reply markup is too long"
        for row in rows:
            for button in row:
                if error := _check_inline_button(button):
                    return error
        return None
    if "keyboard" in markup:
        rows = _rows(markup, "keyboard")
        if rows is None:
            return bad_json
        for row in rows:
            for button in row:
                text = button if isinstance(button, str) else (
                    button.get("text") if isinstance(button, dict) else None)
                if not isinstance(text, str) or not text.strip():
                    return "Bad Request: can't parse keyboard button: Text must be non-empty"
        return None
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return None
    return bad_json
