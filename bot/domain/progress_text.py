"""What /progress and the weekly summary say, from the figures of bot.domain.progress.

    text = progress_text(build_progress(...), "en", next_break="today at 14:00")
    text = summary_text(week_figures(...), "en", studio="Hip Studio")

Every number is written as the figures hold it (rounded as shown, so a sentence adds up);
words stay careful: "meaningful" only for a change that holds, an insight with its numbers
and the reminder that it is a pattern, not proof.
"""

from __future__ import annotations

from datetime import date

from babel.dates import format_skeleton

from bot.domain.i18n import _
from bot.domain.progress import Change, Insight, Progress, WeekFigures


def number(value: float) -> str:
    text = f"{value:.1f}".removesuffix(".0")
    return text.replace("-", "−")


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + number(value)


def day_text(day: date, language: str, year: bool = False) -> str:
    """'Mon, Nov 30' in English, 'lun, 30 nov' in Spanish (Babel's CLDR patterns)."""
    return format_skeleton("yMMMEd" if year else "MMMEd", day, locale=language)


def _verdict(item: Change, language: str) -> str:
    if item.meaningful:
        return _("a meaningful drop", language) if item.delta < 0 else \
            _("a meaningful rise", language)
    if item.large:
        return _("a promising start; it counts once it holds over a week of ratings",
                 language) if item.delta < 0 else \
            _("up; watch it over a week of ratings", language)
    return _("a trend, not a result yet", language)


def change_line(name: str, item: Change, language: str) -> str:
    """'Pain 2.7 (baseline 5, −2.3): a meaningful drop.'"""
    return _("{name} {recent} (baseline {baseline}, {delta}): {verdict}.", language,
             name=_(name, language), recent=number(item.recent), baseline=item.baseline,
             delta=_signed(item.delta), verdict=_verdict(item, language))


def streak_line(weeks: int, language: str) -> str:
    if weeks == 0:
        return _("Weekly streak: it starts with a week when you do most of your planned "
                 "breaks.", language)
    if weeks == 1:
        return _("Weekly streak: 1 week with most planned breaks done.", language)
    return _("Weekly streak: {weeks} weeks in a row with most planned breaks done.", language,
             weeks=weeks)


def insight_lines(found: Insight, language: str) -> list[str]:
    """'In the 3 weeks when you did most planned breaks, your stiffness averaged 3.1; in
    the 2 other weeks, 4.6.' per measure that differs, then a word of caution."""
    lines = []
    for name, pair in ((_("pain", language), found.pain),
                       (_("stiffness", language), found.stiffness)):
        if pair is not None:
            lines.append(_("In the {kept} weeks when you did most planned breaks, your "
                           "{measure} averaged {kept_mean}; in the {other} other weeks, "
                           "{other_mean}.", language, kept=found.kept_weeks,
                           other=found.other_weeks, measure=name,
                           kept_mean=number(pair[0]), other_mean=number(pair[1])))
    lines.append(_("That is a pattern in your own ratings, not proof of cause.", language))
    return lines


def _week_line(progress: Progress, language: str) -> str:
    if progress.sent_this_week == 0:
        line = _("This week: {to_come} planned breaks to come.", language,
                 to_come=progress.to_come_this_week)
    elif progress.to_come_this_week == 0:
        line = _("This week: {done} of the {sent} planned breaks done.", language,
                 done=progress.done_this_week, sent=progress.sent_this_week)
    else:
        line = _("This week: {done} of the {sent} planned breaks so far done, {to_come} still "
                 "to come.", language, done=progress.done_this_week,
                 sent=progress.sent_this_week, to_come=progress.to_come_this_week)
    if progress.on_own_this_week:
        line += " " + _("{count} of them on your own.", language,
                        count=progress.on_own_this_week)
    if progress.on_demand_this_week:
        line += " " + _("Plus {count} on demand.", language,
                        count=progress.on_demand_this_week)
    return line


def progress_text(progress: Progress, language: str, next_break: str | None = None) -> str:
    """The short text under the /progress chart (well inside a 1024-character caption)."""
    lines = [_("Your first week: every break and every rating from today shows here.",
               language) if progress.first_days else streak_line(progress.streak, language),
             _week_line(progress, language)]
    base = progress.series.baseline
    if progress.pain is not None and progress.stiffness is not None:
        lines.append(change_line("Pain", progress.pain, language))
        lines.append(change_line("Stiffness", progress.stiffness, language))
        if progress.recent_from is not None:
            lines.append(_("(Means of your ratings since {day}; a change of 2 points or more, "
                           "held over a week of ratings, counts as meaningful.)", language,
                           day=day_text(progress.recent_from, language)))
    elif base is not None:
        lines.append(_("Baseline: pain {pain}, stiffness {stiffness}. Rate a break to see "
                       "the change.", language, pain=base.pain, stiffness=base.stiffness))
    else:
        lines.append(_("Rate a break to start your pain and stiffness line.", language))
    if progress.series.stops:
        lines.append(_("Stops for pain on this chart: {count} (the crosses).", language,
                       count=len(progress.series.stops)))
    if progress.insight is not None:
        lines.extend(insight_lines(progress.insight, language))
    if next_break is not None and (progress.first_days or not progress.series.rated):
        lines.append(_("Next planned break: {when}. /stretch starts one now.", language,
                       when=next_break))
    return "\n".join(lines)


def stops_line(pains: tuple[int | None, ...], language: str) -> str:
    """'Stopped for pain: 2 times (pain 6/10; no number).'"""
    given = "; ".join(_("pain {pain}/10", language, pain=p) if p is not None
                      else _("no number", language) for p in pains)
    if len(pains) == 1:
        return _("Stopped for pain: once ({given}).", language, given=given)
    return _("Stopped for pain: {count} times ({given}).", language, count=len(pains),
             given=given)


def _encouragement(week: WeekFigures, language: str) -> str:
    """One line, true to the figures."""
    if len(week.pain_stops) >= 2:
        return _("Two or more stops for pain in one week: please see a GP or physiotherapist "
                 "before you go on with these stretches. /pause stops reminders meanwhile.",
                 language)
    if week.pain is not None and week.pain.large and week.pain.delta > 0:
        return _("Pain is up on your baseline: go gently, stop anything sharp, and see a "
                 "professional if it keeps rising (/help).", language)
    if week.done == 0 and week.partial == 0 and week.on_demand == 0:
        return _("No breaks this week. A new one starts Monday: even one short break a day "
                 "counts.", language)
    if week.planned and week.done >= week.planned:
        return _("Every planned break done: that habit is what makes the difference.", language)
    if week.pain is not None and week.pain.meaningful:
        return _("Your pain is meaningfully lower than at the start: keep going.", language)
    return _("Each break is a few minutes your hips get back: keep stacking them.", language)


def summary_text(week: WeekFigures, language: str, studio: str | None = None) -> str:
    day = day_text(week.first_day, language)
    breaks = _("Planned breaks: {planned}, of which {done} done, {partial} partly, {skipped} "
               "skipped, {missed} missed", language, planned=week.planned, done=week.done,
               partial=week.partial, skipped=week.skipped, missed=week.missed)
    if week.open:
        breaks += _(", {open} still open", language, open=week.open)
    lines = [_("Your week from {day}:", language, day=day) if week.first_day == week.monday
             else _("Your first week, from {day}:", language, day=day), breaks + "."]
    if week.on_own:
        lines.append(_("Of the breaks done, {count} on your own (\"I moved already\").",
                       language, count=week.on_own))
    if week.on_demand:
        lines.append(_("On demand (/stretch, /routine): {count}.", language,
                       count=week.on_demand))
    if week.pain is not None and week.stiffness is not None:
        lines.append(change_line("Pain", week.pain, language))
        lines.append(change_line("Stiffness", week.stiffness, language))
    else:
        lines.append(_("No ratings this week, so no change to show.", language))
    if week.pain_stops:
        lines.append(stops_line(week.pain_stops, language))
    lines.append(_encouragement(week, language))
    if week.milestone is not None:
        lines.append(_("{weeks} weeks in a row with most planned breaks done.", language,
                       weeks=week.milestone))
    lines.append(_("/progress shows the chart.", language))
    if studio:
        lines.append(studio)
    return "\n".join(lines)
