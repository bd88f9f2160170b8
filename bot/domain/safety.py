"""Safety: typed pain words, red-flag symptoms triaged, and what a stop says. Pure.

    says_it_hurts("me duele la cadera")   # True: acts like the "It hurts" button
    red_flag("I can't feel my bum")        # True: the emergency guidance at once

Words are matched as whole words (after lower-casing and dropping accents), so "painting",
"painless" and "Spain" never stop a break. The red flags follow NHS guidance for hip and
back pain: the "now" group is what it says to treat as an emergency (call the emergency
number or go to A&E), the "soon" group what a GP or physiotherapist should see soon.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from bot.domain.callbacks import MAX_RATING, CheckIn, Screen, StopPain
from bot.domain.content import CONDITIONS, Condition, Program
from bot.domain.i18n import N_, _
from bot.domain.replies import Button, Reply

# Typed words that mean "it hurts" (English and Spanish; the bot's users are both).
PAIN_WORDS = frozenset({
    "hurt", "hurts", "hurting", "pain", "painful", "ouch", "ow", "owww", "sharp", "agony",
    "duele", "dolor", "doloroso", "ay", "auch",
})
# Phrases of two or more words.
PAIN_PHRASES = ("it hurts", "me duele", "too much")

# Red flags: the "now" group, then the "soon" group, as /help lists them.
EMERGENCY = (
    N_("loss of bladder or bowel control, or difficulty peeing"),
    N_("numbness or tingling around your genitals, buttocks or back passage"),
    N_("numbness, tingling or weakness in both legs"),
    N_("a leg you cannot put weight on"),
    N_("a leg that looks shorter or turned outwards after a fall"),
    N_("a hot, swollen hip with a fever"),
    N_("sudden, severe hip pain without an injury"),
)
SOON = (
    N_("numbness, tingling or weakness in one leg"),
    N_("pain that wakes you at night"),
    N_("a history of cancer, or unexplained weight loss"),
    N_("pain after a fall or injury"),
    N_("a hip that locks, catches or gives way"),
    N_("pain that keeps getting worse, or lasts more than a few weeks"),
)

# Words that point to a "now" red flag in a typed message (matched like pain words).
_FLAG_PATTERNS = tuple(re.compile(pattern) for pattern in (
    r"\bbladder\b", r"\bbowel", r"\bincontinen", r"\bcan'?t (pee|wee|urinate)",
    r"\bcannot (pee|wee|urinate)", r"\b(wet|soiled) myself\b",
    r"\bnumb\w*\b.*\b(groin|genital\w*|buttock\w*|bum|saddle|privates)\b",
    r"\b(groin|genital\w*|buttock\w*|bum|saddle)\b.*\bnumb",
    r"\bcan'?t feel (my )?(bum|buttocks|groin|legs)\b",
    r"\bboth legs\b.*\b(numb|tingl|weak)", r"\b(numb|tingl|weak)\w*\b.*\bboth legs\b",
    r"\bcan'?t (walk|stand|put weight)", r"\bcannot (walk|stand|put weight)",
    r"\bunable to (walk|stand|put weight|bear weight)",
    r"\bfever\b", r"\bfiebre\b", r"\bno puedo (caminar|andar|orinar)",
    r"\bleg (is |looks )?(shorter|turned out)",
))


def _plain(text: str) -> str:
    """Lower case without accents, apostrophes made straight."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-zñ']+", _plain(text))


def says_it_hurts(text: str) -> bool:
    """Whether a typed message says it hurts (a whole pain word or phrase)."""
    words = _words(text)
    if any(word.strip("'") in PAIN_WORDS for word in words):
        return True
    joined = " ".join(words)
    return any(re.search(rf"\b{phrase}\b", joined) for phrase in PAIN_PHRASES)


def red_flag(text: str) -> bool:
    """Whether a typed message mentions a symptom that needs help now."""
    plain = _plain(text)
    return any(pattern.search(plain) for pattern in _FLAG_PATTERNS)


@dataclass(frozen=True)
class Studio:
    """The operator's studio, named in safety messages when configured."""

    name: str | None = None
    contact: str | None = None


def studio_line(language: str, studio: Studio) -> str | None:
    name, contact = studio.name, studio.contact
    if name and contact:
        return _("{studio} can help too: {contact}", language, studio=name, contact=contact)
    if name:
        return _("{studio} can help too.", language, studio=name)
    if contact:
        return _("The studio can help too: {contact}", language, contact=contact)
    return None


def not_advice(language: str) -> str:
    return _("This is not medical advice.", language)


def _listed(items: Sequence[str], language: str) -> str:
    return "\n".join("• " + _(item, language) for item in items)


def _now_group(language: str) -> str:
    return _("Get help now: call your emergency number (such as 112, 999 or 911) or go to "
             "A&E (the emergency department) if you have any of these:", language) + "\n" \
        + _listed(EMERGENCY, language)


def red_flags_text(language: str) -> str:
    """The two groups, as /help lists them."""
    return _now_group(language) + "\n\n" + _(
        "Stop stretching and see a GP or physiotherapist soon if you have any of these:",
        language) + "\n" + _listed(SOON, language)


def emergency_text(language: str) -> str:
    """The answer to a typed red flag, whatever step the user is on: what to do first, then
    the "now" group only (the whole list is in /help). No studio here: this is a job for
    emergency services."""
    lines = [_("Please stop stretching. What you describe can need a doctor urgently.",
               language), _now_group(language),
             _("Not sure how urgent it is? Call the emergency number anyway: they will tell "
               "you what to do.", language),
             not_advice(language)]
    return "\n\n".join(lines)


def check_in_reply(language: str, break_id: int) -> Reply:
    """The first reminder after a stop for pain (of break `break_id`) opens with this."""
    return Reply(
        _("How is the hip today? Last time we stopped because it hurt.", language),
        ((Button(_("Better", language), CheckIn("better", break_id)),
          Button(_("The same", language), CheckIn("same", break_id)),
          Button(_("Worse", language), CheckIn("worse", break_id))),),
    )


def stop_pain_question(break_id: int, language: str) -> Reply:
    """After "it hurts": one optional tap for how bad it is, so the stop shows in /progress."""
    numbers = [Button(str(n), StopPain(break_id, str(n))) for n in range(MAX_RATING + 1)]
    return Reply(
        _("How bad is the pain right now? One tap if you like (0 = none, 10 = worst); it "
          "goes on your /progress chart.", language),
        (tuple(numbers[:6]), tuple(numbers[6:]),
         (Button(_("Skip", language), StopPain(break_id, "skip")),)),
    )


def eased_positions(program: Program, answers: Mapping[str, str],
                    conditions: Collection[str]) -> tuple[str, ...]:
    """The positions a self-check's painful answers leave out, besides those the screening
    answers rule out already (those are said at screening)."""
    return tuple(p for p in program.eased_by(answers)
                 if not set(program.position(p).avoid_with) & set(conditions))


def eased_note(program: Program, eased: Sequence[str], language: str) -> str:
    """Said at the end of a self-check with a painful answer, and at the top of each break
    while it is the latest."""
    names = ", ".join(_(program.position(p).name, language) for p in eased)
    return _("Left out while your latest self-check finds them painful: {positions}. A new "
             "/assess without pain brings them back.", language, positions=names)


def worse_text(language: str, studio: Studio) -> str:
    lines = [_("Thanks for saying so. When pain is getting worse, resting is the safe "
               "choice, and a GP or physiotherapist can find out what is going on. You "
               "can rest today, try a gentle break with short holds (stop at the first "
               "twinge), or pause reminders for a while.", language)]
    if (line := studio_line(language, studio)) is not None:
        lines.append(line)
    lines.append(not_advice(language))
    return "\n\n".join(lines)


def ask_before_stretching(language: str) -> Reply:
    """/stretch or /routine on the day of a stop for pain asks first."""
    return Reply(
        _("You stopped for pain earlier today, so resting is the safer choice. If it "
          "feels fine now, a gentle break with short holds is an option: stop at the first "
          "twinge.", language),
        ((Button(_("Rest today", language), CheckIn("rest")),
          Button(_("A gentle break", language), CheckIn("gentle"))),),
    )


# ------------------------------------------------------------------------------------------
# The safety questions, asked right after consent (and again from /settings)

QUESTIONS: Final[dict[Condition, str]] = {
    "surgery": N_("Surgery on your hip, knee or back in the last 6 months"),
    "hip_replacement": N_("A hip replacement"),
    "fracture": N_("A recent fracture, or a fall that left your hip hurting"),
    "pregnancy": N_("Pregnancy"),
    "high_pain": N_("Pain of 7 out of 10 or more right now"),
}
# What each yes means for the breaks, in plain words.
EXPLAINED: Final[dict[Condition, str]] = {
    "surgery": N_("After recent surgery, some positions can strain what is healing."),
    "hip_replacement": N_("After a hip replacement, bending the hip past a right angle, "
                          "crossing your legs and turning the knee inwards can dislocate "
                          "the new joint."),
    "fracture": N_("After a fracture or a fall with hip pain, the hip should be checked "
                   "before it is stretched."),
    "pregnancy": N_("In pregnancy, deep twists are best left out, and joints are looser "
                    "than usual, so go gently."),
    "high_pain": N_("Pain that high is a reason to get it checked first; stretching should "
                    "never add to it."),
}


def conditions_of(chosen: int) -> list[Condition]:
    return [c for i, c in enumerate(CONDITIONS) if chosen >> i & 1]


def mask_of(conditions: Collection[str]) -> int:
    return sum(1 << i for i, c in enumerate(CONDITIONS) if c in conditions)


def screening_reply(language: str, chosen: int = 0) -> Reply:
    rows = [(Button(("✓ " if chosen >> i & 1 else "") + _(QUESTIONS[c], language),
                    Screen(chosen, str(i))),) for i, c in enumerate(CONDITIONS)]
    rows.append((Button(_("Done", language) if chosen else _("None of these", language),
                        Screen(chosen, "done")),))
    return Reply(_("Before your first stretch, a few safety questions. Tap each one that "
                   "applies to you, then Done:", language), tuple(rows))


def screening_advice(language: str, conditions: Sequence[Condition], left_out: Sequence[str],
                     studio: Studio) -> Reply:
    """A yes: why it matters, clearance first, and the choice to go on safely or pause."""
    lines = [_(EXPLAINED[c], language) for c in conditions]
    lines.append(_("Please ask your doctor, surgeon or physiotherapist whether these "
                   "stretches are right for you before you start.", language))
    if left_out:
        lines.append(_("If you go on, I'll leave out: {positions}.", language,
                       positions=", ".join(left_out)))
    if "high_pain" in conditions:
        lines.append(_("Your breaks will use short, gentle holds (/settings changes that).",
                       language))
    if (line := studio_line(language, studio)) is not None:
        lines.append(line)
    lines.append(not_advice(language))
    chosen = mask_of(conditions)
    return Reply("\n\n".join(lines), (
        (Button(_("Go on with the safe positions", language), Screen(chosen, "safe")),),
        (Button(_("Pause until I'm cleared", language), Screen(chosen, "pause")),),
    ))
