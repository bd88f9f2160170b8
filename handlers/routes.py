"""Every way in, top to bottom: which function answers each command, button and typed step,
and who may use it.

A route's gate is checked before its function runs (`gated`), so features never check it
again: OPEN works before consent, CONSENTED after the welcome note was agreed to, SET_UP
after onboarding too (before, the user is led back to their setup step), OPERATORS for
ADMIN_USER_IDS only (anyone else gets exactly what an unknown command gets). The adapter
(bot/adapter/router.py) picks the route for an update and runs it in one transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from bot.domain.callbacks import (
    BreakControl,
    CalendarChoice,
    CallbackData,
    CheckIn,
    Consent,
    Erase,
    GroupMove,
    PauseChoice,
    PlanFit,
    RatingTap,
    ReminderChoice,
    Screen,
    SelfCheckAnswer,
    SelfCheckStart,
    SettingsChoice,
    SetupChoice,
    ShowPictures,
    StopPain,
)
from bot.domain.replies import Answer
from handlers import (
    account,
    assessment,
    breaks,
    calendar,
    groups,
    onboarding,
    pause,
    plan_fit,
    progress,
    ratings,
    reminders,
    safety,
    settings,
)
from handlers.turn import Turn

Action = Callable[[Turn], Awaitable[Answer]]
Tap = TypeVar("Tap", bound=CallbackData)


class Gate(Enum):
    OPEN = "open before consent"
    CONSENTED = "after consent"
    SET_UP = "after setup"
    OPERATORS = "operators only"


OPEN, CONSENTED, SET_UP, OPERATORS = Gate.OPEN, Gate.CONSENTED, Gate.SET_UP, Gate.OPERATORS


@dataclass(frozen=True)
class Route:
    answer: Action
    gate: Gate


@dataclass(frozen=True)
class ButtonRoute(Generic[Tap]):
    kind: type[Tap]
    answer: Callable[[Turn, Tap], Awaitable[Answer]]
    gate: Gate

    def pressed(self, tap: Tap) -> Route:
        """The route of one press of this button kind, with its data."""

        async def answer(turn: Turn) -> Answer:
            return await self.answer(turn, tap)

        return Route(answer, self.gate)


# Commands, by name (lower case, without "/" or "@bot").
COMMANDS: dict[str, Route] = {
    "start": Route(account.start, OPEN),
    "help": Route(account.help_, OPEN),
    "privacy": Route(account.privacy, OPEN),
    "stop": Route(account.stop, OPEN),
    "delete": Route(account.delete, OPEN),
    "cancel": Route(account.cancel, OPEN),
    "stretch": Route(breaks.stretch, SET_UP),
    "routine": Route(breaks.routine, SET_UP),
    "assess": Route(assessment.assess, SET_UP),
    "progress": Route(progress.progress, SET_UP),
    "report": Route(progress.report, SET_UP),
    "export": Route(progress.export, SET_UP),
    "settings": Route(settings.settings, SET_UP),
    "pause": Route(pause.pause, SET_UP),
    "resume": Route(pause.resume, SET_UP),
    "calendar": Route(calendar.calendar, SET_UP),
    "stats": Route(progress.stats, OPERATORS),
    "invite": Route(groups.invite, OPERATORS),
}
UNKNOWN_COMMAND = Route(account.unknown_command, CONSENTED)

# Buttons, by the kind of their callback data (bot/domain/callbacks.py).
_BUTTONS: tuple[ButtonRoute[Any], ...] = (
    ButtonRoute(Consent, account.consent, OPEN),
    ButtonRoute(Erase, account.delete_confirmed, OPEN),
    ButtonRoute(GroupMove, groups.on_move, OPEN),
    ButtonRoute(CalendarChoice, calendar.on_button, SET_UP),
    ButtonRoute(SetupChoice, onboarding.on_button, CONSENTED),
    ButtonRoute(SettingsChoice, settings.on_button, SET_UP),
    ButtonRoute(PauseChoice, pause.on_button, SET_UP),
    ButtonRoute(ReminderChoice, reminders.on_reminder_button, CONSENTED),
    ButtonRoute(CheckIn, safety.on_check_in, SET_UP),
    ButtonRoute(PlanFit, plan_fit.on_answer, SET_UP),
    ButtonRoute(Screen, safety.on_screen, CONSENTED),
    ButtonRoute(StopPain, safety.on_stop_pain, CONSENTED),
    ButtonRoute(BreakControl, breaks.on_session_button, CONSENTED),
    ButtonRoute(RatingTap, ratings.on_rating_button, CONSENTED),
    ButtonRoute(SelfCheckStart, assessment.on_start, CONSENTED),
    ButtonRoute(SelfCheckAnswer, assessment.on_answer, CONSENTED),
    ButtonRoute(ShowPictures, breaks.show_pictures, CONSENTED),
)
BUTTONS: dict[type[CallbackData], ButtonRoute[Any]] = {route.kind: route for route in _BUTTONS}
# Forged data, or a button this version no longer makes.
STALE_BUTTON = Route(account.stale_button, CONSENTED)

# Typed text and shared locations, by the conversation step the user is on ("ob:tz" → "ob").
# Whatever the step, typed text is heard first for red flags and words that say it hurts
# (handlers/safety.py `heard`).
STEPS: dict[str, Route] = {
    "ob": Route(onboarding.on_step, OPEN),
    "set": Route(settings.on_step, OPEN),
    "rate": Route(ratings.on_rating_text, OPEN),
    "cal": Route(calendar.on_step, SET_UP),
}
NO_STEP = Route(account.unknown_text, OPEN)
# Stickers, photos, voice notes: anything but text, commands, buttons and locations.
ANYTHING_ELSE = Route(account.unknown_message, OPEN)
# The user blocked the bot (unblocking it is a return: the route of /start).
BLOCKED = Route(account.blocked, OPEN)


def command(name: str) -> Route:
    return COMMANDS.get(name, UNKNOWN_COMMAND)


def button(tap: CallbackData | None) -> Route:
    route = BUTTONS.get(type(tap)) if tap is not None else None
    return route.pressed(tap) if route is not None else STALE_BUTTON


def step(name: str | None) -> Route:
    route = STEPS.get((name or "").split(":")[0], NO_STEP)
    return Route(safety.heard(route.answer), route.gate)


def gated(route: Route, turn: Turn) -> Action:
    """The route's function, or what answers instead while its gate is closed to this user."""
    user = turn.user
    if route.gate is OPERATORS:
        if user.id in turn.services.settings.admin_user_ids:
            return route.answer
        route = UNKNOWN_COMMAND
    if route.gate is OPEN:
        return route.answer
    if user.consented_at is None:
        return account.consent_first
    if route.gate is SET_UP and user.onboarded_at is None:
        return onboarding.finish_first
    return route.answer
