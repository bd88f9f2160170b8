"""The bot's profile on Telegram: what a user sees before the first message.

Per language the bot speaks (bot.domain.i18n.LANGUAGES): the description (the empty chat's
"What can this bot do?"), the short description (the profile page and shared links) and the
command menu, plus the menu button that opens the commands. English is Telegram's default
(no language code), so users of any other language see it until theirs exists.

Set at start-up, and only what differs from what Telegram has: a restart (daily on most
platforms, several instances at once in web mode) costs a few reads, not a flood of writes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import Bot, BotCommand, BotCommandScopeChat, MenuButtonCommands
from telegram.error import TelegramError

from bot.config import Settings
from bot.domain.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, _

log = logging.getLogger(__name__)

DESCRIPTION = N_(
    "A stretch coach for people who sit at a desk all day and bike, run or lift the rest "
    "of the time. During your work hours I send short stretch breaks for your hips, guide "
    "you through each stretch with a timer, and keep track of your pain and stiffness so "
    "you can watch them improve.\n\nNot medical advice. Press Start to begin.")
SHORT_DESCRIPTION = N_("Short hip-stretch breaks in your work day, guided with a timer, for "
                       "desk athletes.")
OFFERED_BY = N_("Offered by {studio}.")
OPERATOR_COMMANDS = (("stats", N_("Usage figures for operators")),
                     ("invite", N_("Invitation links for groups")))


def description(language: str, settings: Settings) -> str:
    text = _(DESCRIPTION, language)
    if settings.studio_name:
        text += " " + _(OFFERED_BY, language, studio=settings.studio_name)
    return text[:512]  # Telegram's limit


async def update_profile(bot: Bot, settings: Settings,
                         menu: Sequence[tuple[str, str]]) -> list[str]:
    """Brings the profile in line with this version; returns what changed."""
    changed: list[str] = []
    for language in LANGUAGES:
        code = None if language == DEFAULT_LANGUAGE else language
        commands = [BotCommand(name, _(text, language)) for name, text in menu]
        operator = [*commands, *(BotCommand(name, _(text, language))
                                 for name, text in OPERATOR_COMMANDS)]
        steps = [(f"description/{language}", _description(bot, description(language, settings),
                                                           code)),
                 (f"short description/{language}",
                  _short_description(bot, _(SHORT_DESCRIPTION, language), code)),
                 (f"commands/{language}", _commands(bot, commands, code, None))]
        steps += [(f"operator commands/{language}/{admin}",
                   _commands(bot, operator, code, admin))
                  for admin in sorted(settings.admin_user_ids)]
        for name, step in steps:
            try:
                if await step:
                    changed.append(name)
            except TelegramError as exc:
                # The profile is a convenience; the bot works without it.
                log.warning("could not set the bot's %s: %s", name, exc)
    try:
        if not isinstance(await bot.get_chat_menu_button(), MenuButtonCommands):
            await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
            changed.append("menu button")
    except TelegramError as exc:
        log.warning("could not set the menu button: %s", exc)
    log.info("bot profile: %s", f"updated {', '.join(changed)}" if changed else "up to date")
    return changed


async def _description(bot: Bot, text: str, code: str | None) -> bool:
    if (await bot.get_my_description(language_code=code)).description == text:
        return False
    return await bot.set_my_description(text, language_code=code)


async def _short_description(bot: Bot, text: str, code: str | None) -> bool:
    if (await bot.get_my_short_description(language_code=code)).short_description == text:
        return False
    return await bot.set_my_short_description(text, language_code=code)


async def _commands(bot: Bot, commands: list[BotCommand], code: str | None,
                    admin: int | None) -> bool:
    scope = BotCommandScopeChat(admin) if admin is not None else None
    have = await bot.get_my_commands(scope=scope, language_code=code)
    if [(c.command, c.description) for c in have] == \
            [(c.command, c.description) for c in commands]:
        return False
    return await bot.set_my_commands(commands, scope=scope, language_code=code)
