"""Groups and their invitation links: /invite for operators, and arriving through a link.

    /invite office       -> creates the group "office" and answers its link
                            https://t.me/<bot>?start=<code>
    /invite              -> every group with its link and number of users
    /start <code>        -> the user joins that group (account.start calls `arrive`)

A user stays in the group they first came through; a later link asks before moving them.
A start payload that names no group (forged, mistyped, from another bot) is ignored: the
user starts as usual. /stats shows the figures per group (handlers/progress.py).
"""

from __future__ import annotations

from bot.domain.callbacks import GroupMove
from bot.domain.replies import Answer, Button, Reply
from bot.storage import groups
from bot.storage.models import Group
from handlers.turn import Turn

MAX_NAME = 40


def link(turn: Turn, group: Group) -> str:
    return f"https://t.me/{turn.services.bot_username}?start={group.code}"


async def invite(turn: Turn) -> Answer:
    name = " ".join(turn.text.split())
    if not name:
        return await _list(turn)
    if len(name) > MAX_NAME:
        return Answer().say(turn.t("A group name can have at most {limit} characters; try a "
                                   "shorter one.", limit=MAX_NAME))
    group = await groups.named(turn.session, name)
    if group is not None:
        return Answer().say(turn.t("The group “{name}” already exists. Its invitation link:\n"
                                   "{link}", name=group.name, link=link(turn, group)))
    group = await groups.create(turn.session, name, turn.now)
    return Answer().say(turn.t(
        "Group “{name}” created. Whoever starts the bot through this link joins it (they "
        "see the group's name):\n{link}\n\n/stats {name} shows its figures; /invite lists "
        "every group.", name=group.name, link=link(turn, group)))


async def _list(turn: Turn) -> Answer:
    found = await groups.with_sizes(turn.session)
    if not found:
        return Answer().say(turn.t("No groups yet. /invite followed by a name creates one "
                                   "with its own invitation link, e.g. /invite morning class"))
    lines = [turn.t("Your groups and their invitation links:")]
    for group, users in found:
        lines.append(turn.t("• {name} ({users} joined): {link}", name=group.name, users=users,
                            link=link(turn, group)))
    lines.append(turn.t("/invite followed by a new name creates another group."))
    return Answer().say("\n".join(lines))


async def arrive(turn: Turn) -> tuple[list[Reply], list[Reply]]:
    """What /start's payload does: (replies before the greeting, replies after it)."""
    group = await groups.by_code(turn.session, turn.text.strip())
    user = turn.user
    if group is None or user.group_id == group.id:
        return [], []
    if user.group_id is None:
        user.group_id = group.id
        return Answer().say(turn.t("You joined the group “{name}”.", name=group.name)).replies, []
    current = await turn.session.get(Group, user.group_id)
    question = Answer().say(
        turn.t("You are in the group “{current}”. This link is for “{name}”: move there?",
               current=current.name if current else "?", name=group.name),
        [Button(turn.t("Move"), GroupMove(group.id, move=True)),
         Button(turn.t("Stay"), GroupMove(group.id, move=False))])
    return [], question.replies


async def on_move(turn: Turn, tap: GroupMove) -> Answer:
    group = await turn.session.get(Group, tap.group_id)
    if group is None:
        return Answer().say(turn.t("That group no longer exists; nothing changed."), edit=True)
    if not tap.move:
        return Answer().say(turn.t("You stay where you are; nothing changed."), edit=True)
    turn.user.group_id = group.id
    return Answer().say(turn.t("Done: you are now in the group “{name}”.", name=group.name),
                        edit=True)
