"""The hip self-assessment from the article: three questions, asked now and every two weeks.

/assess (or the `SelfCheckStart` button onboarding offers) opens an `Assessment` row and asks the
questions one at a time in one message, edited in place. Answers are stored as
{question id: answer id}; scores come from content/assessment.yaml when compared. The
finished check plans an "assess" due row two weeks later that invites the user to repeat it.
The answer buttons are `SelfCheckAnswer(assessment, question id, answer id)`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.callbacks import SelfCheckAnswer, SelfCheckStart
from bot.domain.content import Assessment as Questions
from bot.domain.content import Question
from bot.domain.i18n import _
from bot.domain.pictures import Pictures
from bot.domain.replies import Answer, Button, Reply
from bot.domain.safety import eased_note, eased_positions
from bot.outbox import due
from bot.outbox.dispatcher import Action, Send, Skip
from bot.storage.models import Assessment, DueMessage, User
from bot.storage.records import latest_check
from handlers.turn import Turn

REPEAT_AFTER = timedelta(days=14)
# An unfinished check started this recently is picked up again instead of opening another.
RESUME_WITHIN = timedelta(hours=1)
ASSESS_KIND = "assess"


def next_question(questions: Questions, answers: dict[str, Any]) -> Question | None:
    """The first question not answered yet, in content order."""
    return next((q for q in questions.questions if q.id not in answers), None)


def score(questions: Questions, answers: dict[str, Any]) -> int:
    """Total restriction score of the answers the current content still knows (0 = free)."""
    total = 0
    for question in questions.questions:
        answer_id = answers.get(question.id)
        if isinstance(answer_id, str):
            try:
                total += question.answer(answer_id).score
            except KeyError:
                continue
    return total


def _question_reply(questions: Questions, check: Assessment, language: str,
                    intro: bool, pictures: Pictures | None) -> Reply:
    """The next question, with the picture of its test."""
    question = next_question(questions, check.answers)
    assert question is not None
    number = questions.questions.index(question) + 1
    lines = [_(questions.intro, language), ""] if intro else []
    lines += [
        _("Question {number} of {total}: {text}", language, number=number,
          total=len(questions.questions), text=_(question.text, language)),
        _(question.how, language),
    ]
    rows = tuple((Button(_(a.label, language), SelfCheckAnswer(check.id, question.id, a.id)),)
                 for a in question.answers)
    picture = pictures.key_for_test(question.id) if pictures is not None else None
    return Reply("\n".join(lines), rows, edit=True, picture=picture)


async def assess(turn: Turn) -> Answer:
    """Starts the self-check (or picks up one started in the last hour)."""
    questions = turn.services.program.assessment
    check = await turn.session.scalar(
        select(Assessment).where(Assessment.user_id == turn.user.id,
                                 Assessment.completed.is_(False),
                                 Assessment.taken_at >= turn.now - RESUME_WITHIN)
        .order_by(Assessment.id.desc()).limit(1)
    )
    if check is None or next_question(questions, check.answers) is None:
        check = Assessment(user_id=turn.user.id, taken_at=turn.now, answers={},
                           completed=False)
        turn.session.add(check)
        await turn.session.flush()
    return Answer(replies=[_question_reply(questions, check, turn.user.language, intro=True,
                                           pictures=turn.services.pictures)])


async def on_start(turn: Turn, _tap: SelfCheckStart) -> Answer:
    return await assess(turn)


async def on_answer(turn: Turn, tap: SelfCheckAnswer) -> Answer:
    check = await turn.own(Assessment, tap.assessment_id)
    if check is None:
        return Answer(toast=turn.t("That button is no longer active."))
    if check.completed:
        return Answer(toast=turn.t("This self-check is already saved."))
    questions = turn.services.program.assessment
    question = next_question(questions, check.answers)
    if question is None or question.id != tap.question:
        return Answer(toast=turn.t("That question is already answered."))
    try:
        question.answer(tap.answer)
    except KeyError:
        return Answer(toast=turn.t("That button is no longer active."))
    check.answers = {**check.answers, question.id: tap.answer}
    if next_question(questions, check.answers) is not None:
        return Answer(replies=[_question_reply(questions, check, turn.user.language,
                                               intro=False, pictures=turn.services.pictures)])
    return await _finish(turn, check)


# The self-check answer that calls for caution (content/assessment.yaml).
PAINFUL = "painful"


async def _finish(turn: Turn, check: Assessment) -> Answer:
    questions = turn.services.program.assessment
    check.completed, check.taken_at = True, turn.now
    previous = await latest_check(turn.session, turn.user.id, before_id=check.id)
    lines = [turn.t("Saved. Your answers today:") if previous is None else
             turn.t("Saved. Your answers today, and at your last check:")]
    for question in questions.questions:
        label = turn.t(question.answer(check.answers[question.id]).label)
        answer_before = previous.answers.get(question.id) if previous is not None else None
        if answer_before is None:
            lines.append(f"• {turn.t(question.text)} {label}")
        else:
            earlier = turn.t(question.answer(answer_before).label)
            lines.append(turn.t("• {question} {today} (last time: {earlier})",
                                question=turn.t(question.text), today=label, earlier=earlier))
    if previous is not None:
        before, now = score(questions, previous.answers), score(questions, check.answers)
        if now < before:
            lines.append(turn.t("Your hips move more freely than at your last check."))
        elif now > before:
            lines.append(turn.t("Your hips feel more restricted than at your last check. If "
                                "that goes with pain, take it easy and see /help."))
        else:
            lines.append(turn.t("About the same as at your last check."))
    program = turn.services.program
    conditions = turn.user.screening or ()
    eased = eased_positions(program, check.answers, conditions)
    if any(answer == PAINFUL for answer in check.answers.values()):
        lines.append(turn.t(
            "You found a test painful. That is worth taking seriously: in your breaks, stay "
            "well short of that feeling and ease off at the first twinge. If it stays "
            "painful, see a GP or physiotherapist before you stretch into it. This is not "
            "medical advice."))
        if eased:
            lines.append(eased_note(program, eased, turn.user.language))
    back = [p for p in (eased_positions(program, previous.answers, conditions)
                        if previous is not None else ()) if p not in eased]
    if back:
        lines.append(turn.t("Back in your breaks now that they are no longer painful: "
                            "{positions}.", positions=", ".join(
                                turn.t(program.position(p).name) for p in back)))
    lines.append(turn.t("I'll ask again in two weeks, so you can see what changes. /stretch "
                        "starts a break now."))
    at = turn.now + REPEAT_AFTER
    await due.schedule(turn.session, turn.user.id, ASSESS_KIND, f"assess:{check.id}", at,
                       {"assessment": check.id})
    turn.wake(at)
    return Answer(toast=turn.t("Saved")).say("\n".join(lines), edit=True)


class RepeatJob:
    """Two weeks after a self-check, invites the user to take it again."""

    async def prepare(
        self, session: AsyncSession, row: DueMessage, user: User, now: datetime
    ) -> Action:
        latest = await latest_check(session, user.id)
        if latest is None or latest.id != row.payload.get("assessment"):
            return Skip("a newer self-check exists", status="cancelled")
        if user.paused_until is not None and user.paused_until > now:
            # Looked at again daily (or when a shorter pause ends) until it can be asked;
            # a pause "until /resume" has no end to wait for.
            at = min(user.paused_until, now + timedelta(days=1))
            await due.schedule(session, user.id, ASSESS_KIND,
                               f"assess:{latest.id}:{at.isoformat()}", at, row.payload)
            return Skip("reminders are paused", status="cancelled")
        text = _("Two weeks since your hip self-check: take it again to see what has changed? "
                 "Three questions, about three minutes.", user.language)
        return Send(Reply(text, ((Button(_("Start the self-check", user.language),
                                         SelfCheckStart()),),)))

    async def delivered(self, *_args: object) -> None:
        return None

    async def undeliverable(self, *_args: object) -> None:
        return None

