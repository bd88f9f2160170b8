"""A Spanish-speaking user end to end: the real `python -m bot` against the Bot API stand-in,
on SQLite and PostgreSQL. Telegram says the user's language is Spanish; from /start to /help
nothing the bot shows them (texts, captions, edits, buttons, toasts, the command menu) is in
English, and switching to English in /settings switches the very next message.

The bot's clock starts on Monday 30 November 2026 at 08:30 UTC (09:30 in Madrid) and runs
60 times fast, so the first reminder (about 10:00 in Madrid) comes half a real minute after
the start. Start-up and onboarding take about ten real seconds on a busy machine: the plan
is made well before 10:00, and the hold's two minutes still last two real seconds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from bot.domain import i18n
from standin import BotAPIStandIn, ChatMessage, SimulatedUser

pytestmark = pytest.mark.e2e

START = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)  # 09:30 in Madrid
USER = 2001


def english_fragments() -> set[str]:
    """Every stretch of English the bot could say (the template's texts, cut at their
    placeholders) that is long enough to be a phrase and never part of a Spanish text."""
    with i18n.po_path("es").open("rb") as handle:
        spanish = "\n".join(str(m.string) for m in read_po(handle) if m.id)
    with (i18n.LOCALES / "messages.pot").open("rb") as handle:
        english = [str(m.id) for m in read_po(handle) if m.id]
    fragments = {part.strip(" .,:;()\n") for text in english for part in re.split(r"\{\w+\}", text)}
    return {f for f in fragments if len(f) >= 8 and " " in f and f not in spanish}


def single_words() -> set[str]:
    """Short English texts said on their own (buttons, toasts): "Next", "Skip", "Done"."""
    with (i18n.LOCALES / "messages.pot").open("rb") as handle:
        english = {str(m.id) for m in read_po(handle) if m.id and "{" not in str(m.id)}
    return {e for e in english if i18n._(e, "es") != e}


def transcript(user: SimulatedUser) -> list[str]:
    """Everything the user saw: each message, every state it was edited to, its buttons,
    and each toast."""
    seen: list[str] = []
    for message in user.messages:
        states = [(message.text, message.caption, message.reply_markup)]
        states += [(e.text, e.caption, e.reply_markup) for e in message.edits]
        for text, caption, markup in states:
            seen += [t for t in (text, caption) if t]
            for row in (markup or {}).get("inline_keyboard") or []:
                seen += [button["text"] for button in row]
            for row in (markup or {}).get("keyboard") or []:
                seen += [b if isinstance(b, str) else b["text"] for b in row]
    seen += [answer.text for answer in user.callback_answers if answer.text]
    return seen


def english_in(texts: list[str]) -> list[tuple[str, str]]:
    fragments, words = english_fragments(), single_words()
    found = [(fragment, text) for text in texts for fragment in fragments if fragment in text]
    found += [(text, text) for text in texts if text.strip(" ✓▶↺■⏱✋«📍↩🖼") in words]
    return found


async def reply_to(user: SimulatedUser, containing: str, wait: float = 20) -> ChatMessage:
    return await user.next_message(timeout=wait, predicate=lambda m: containing in m.shown)


async def edited_to(user: SimulatedUser, message: ChatMessage, containing: str) -> None:
    await user.wait_until(lambda: containing in message.shown, timeout=20)


async def test_a_spanish_user_from_start_to_help_sees_no_english(
    standin: BotAPIStandIn, run_bot: Any, database_url: str, tmp_path: Path
) -> None:
    bot = await run_bot(database_url=database_url, clock_start=START, clock_speed=60.0)
    # The command menu is there in Spanish for Spanish users.
    menu = {c["command"]: c["description"] for c in standin.get_commands(language_code="es")}
    assert menu and all(d != e["description"] for e in standin.get_commands()
                        for c, d in menu.items() if c == e["command"]), menu
    lucia = standin.user(USER, first_name="Lucía", language_code="es-ES")

    await lucia.command("/start")
    welcome = await reply_to(lucia, "esto no es consejo médico")
    await lucia.press(welcome, "c:yes")
    screening = await reply_to(lucia, "unas preguntas de seguridad")
    await lucia.press(screening, "sc:0:done")
    await reply_to(lucia, "¿En qué zona horaria estás?")
    await lucia.send("Madrid")
    await reply_to(lucia, "Europe/Madrid")
    days = await reply_to(lucia, "¿Qué días trabajas?")
    await lucia.press(days, "ob:days:ok")
    await edited_to(lucia, days, "Días de trabajo: lun–vie")
    await reply_to(lucia, "¿Cuál es tu horario de trabajo?")
    await lucia.send("9-17")
    await reply_to(lucia, "Horario de trabajo: 09:00–17:00")
    breaks = await reply_to(lucia, "¿Cuántas pausas")
    await lucia.press_button(breaks, "4")
    await edited_to(lucia, breaks, "4 pausas al día")
    place = await reply_to(lucia, "¿Dónde estarás")
    await lucia.press(place, "ob:place:desk")
    baseline = await reply_to(lucia, "punto de partida")
    await lucia.press(baseline, "ob:pain:3")
    await edited_to(lucia, baseline, "Dolor: 3/10")
    await lucia.press(baseline, "ob:stiff:5")
    offer = await reply_to(lucia, "autoevaluación de cadera")
    summary = await reply_to(lucia, "¡Ya está todo listo!")
    assert "Tu primera pausa: hoy a las 10:0" in summary.shown
    await lucia.press(offer, "ob:assess:later")
    await edited_to(lucia, offer, "/assess")
    assert await bot.query("select language from users where id = :id", id=USER) == [("es",)]

    # The reminder, then a guided break with its picture, cues and the switch.
    reminder = await reply_to(lucia, "Es hora de una pausa", wait=90)
    assert "Empezar ahora" in [label for row in reminder.buttons for label, _d in row]
    await lucia.press_button(reminder, "Empezar ahora")
    position = await lucia.next_message(
        timeout=20, predicate=lambda m: "Pulsa Listo" in m.shown and bool(m.buttons))
    picture = position if position.photo is not None else [
        m for m in lucia.messages if m.message_id < position.message_id][-1]
    assert picture.photo is not None
    assert "Mantén 2 minutos en cada lado" in position.shown
    await lucia.press_button(position, "Listo")
    await edited_to(lucia, position, "Lado 1 de 2")
    await reply_to(lucia, "Cambia de lado")
    await reply_to(lucia, "¿Cuánto dolor tienes ahora", wait=30)
    await lucia.send("dolor 3 rigidez 5")
    await reply_to(lucia, "Guardado: dolor 3/10, rigidez 5/10")
    assert await bot.query("select pain, stiffness from ratings where kind = 'break'") == [
        (3, 5)]

    await lucia.command("/progress")
    chart = await lucia.next_message(timeout=30, predicate=lambda m: m.photo is not None)
    assert chart.shown  # the chart comes with its summary in Spanish
    await lucia.command("/help")
    await reply_to(lucia, "Cómo funciona")

    seen = transcript(lucia)
    # Kept beside the test's logs for reading as the user would.
    (tmp_path / "transcript.txt").write_text("\n---\n".join(seen))
    (tmp_path / "chart.png").write_bytes(chart.photo or b"")
    assert len(seen) > 30
    assert not english_in(seen), english_in(seen)[:5]

    # English in /settings: the very next message is in English.
    await lucia.command("/settings")
    settings = await reply_to(lucia, "Tus ajustes:")
    assert "Idioma: Español" in settings.shown
    await lucia.press(settings, "set:edit:lang")
    await edited_to(lucia, settings, "¿En qué idioma quieres que te hable?")
    await lucia.press(settings, "set:lang:en")
    await edited_to(lucia, settings, "I'll speak English from now on.")
    await lucia.command("/help")
    await reply_to(lucia, "How it works")
    assert await bot.query("select language from users where id = :id", id=USER) == [("en",)]
    assert await bot.stop() == 0
