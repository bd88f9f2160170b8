"""Which domain function answers which command, button prefix and conversation step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import ModuleType

from bot import (
    account,
    assessment,
    history,
    onboarding,
    pause,
    reminder_buttons,
    sessions,
    settings_flow,
)
from bot.replies import Answer
from bot.turn import Turn

Action = Callable[[Turn], Awaitable[Answer]]

# Modules that answer users; each may define COMMANDS, BUTTONS and STEPS.
MODULES: list[ModuleType] = [
    account, onboarding, settings_flow, pause, reminder_buttons, sessions, assessment, history,
]

COMMANDS: dict[str, Action] = {}
BUTTONS: dict[str, Action] = {}
STEPS: dict[str, Action] = {}
for module in MODULES:
    for table, name in ((COMMANDS, "COMMANDS"), (BUTTONS, "BUTTONS"), (STEPS, "STEPS")):
        for key, action in getattr(module, name, {}).items():
            if key in table:
                raise RuntimeError(f"{module.__name__} answers {name} {key!r} twice")
            table[key] = action

# Commands that work before consent (everything else asks for it first). /stats is here
# only so that, for anyone but an operator, it can answer exactly like an unknown command.
OPEN_COMMANDS = frozenset({"start", "help", "privacy", "stop", "delete", "cancel", "stats"})
