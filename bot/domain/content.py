"""The stretch programme and the hip self-assessment, loaded from the YAML files in content/.

Load once at start-up and keep the result; it is immutable:

    program = load_program()                  # the repo's content/ folder
    for stretch, position in program.positions():
        variant = position.variant("desk")    # name, set-up, how-to, side switch at the desk
        cues = position.cues_for("desk")      # spread over the hold
        cautions = stretch.cautions_for("desk")  # only those that apply there

Anything wrong in the files raises `ContentError`, whose one-line message names the file,
the line, the entry (stretch, position, question...) and the field. Texts are plain: they
assume no parse mode, so nothing in them needs escaping. They are written in English and
are meant to go through the translation function when shown.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeVar, get_args

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

Place = Literal["desk", "band", "floor"]
PLACES: Final[tuple[Place, ...]] = ("desk", "band", "floor")


def as_place(value: str) -> Place:
    """A stored place name as a `Place` (anything unknown reads as the desk, the safest)."""
    for place in PLACES:
        if value == place:
            return place
    return "desk"
Sides = Literal["both", "none"]
# Health conditions asked about before the first stretch (bot/domain/safety.py): a position
# lists those it is not safe with, following standard precautions.
Condition = Literal["surgery", "hip_replacement", "fracture", "pregnancy", "high_pain"]
CONDITIONS: Final[tuple[Condition, ...]] = get_args(Condition)

CONTENT_DIR: Final = Path(__file__).resolve().parents[2] / "content"
EQUIPMENT_FILE: Final = "equipment.yaml"
ASSESSMENT_FILE: Final = "assessment.yaml"
STRETCHES_FILE: Final = "stretches.yaml"

# Ids travel inside Telegram callback data (64 bytes), next to other ids.
ID_MAX_LENGTH: Final = 12
ID_PATTERN: Final = re.compile(r"[a-z][a-z0-9_]{0,11}")
DEFAULT_SECONDS: Final = 120  # the article: about two minutes in each position
MIN_SECONDS: Final = 10
MAX_SECONDS: Final = 600
# Caps keep every message short enough to read in the first seconds of a hold.
NAME_MAX: Final = 60
LABEL_MAX: Final = 40  # button text
CUE_MAX: Final = 200
INSTRUCTIONS_MAX: Final = 300
TEXT_MAX: Final = 300
SETUP_MAX: Final = 400
INTRO_MAX: Final = 600


def _check_id(value: str) -> str:
    if not ID_PATTERN.fullmatch(value):
        raise ValueError(
            f"ids use lowercase letters, digits and _, start with a letter and have at most "
            f"{ID_MAX_LENGTH} characters (got {value!r})"
        )
    return value


def _text(max_length: int) -> StringConstraints:
    # strict: a YAML 'yes' or '3' must not silently become the text "True" or "3"
    return StringConstraints(
        strict=True, strip_whitespace=True, min_length=1, max_length=max_length
    )


Id = Annotated[str, StringConstraints(strict=True), AfterValidator(_check_id)]
Name = Annotated[str, _text(NAME_MAX)]
Label = Annotated[str, _text(LABEL_MAX)]
Cue = Annotated[str, _text(CUE_MAX)]
Instructions = Annotated[str, _text(INSTRUCTIONS_MAX)]
Text = Annotated[str, _text(TEXT_MAX)]
SetupText = Annotated[str, _text(SETUP_MAX)]
Intro = Annotated[str, _text(INTRO_MAX)]


class _Entry(BaseModel):
    # extra="forbid": a misspelt field name is an error, not a silently ignored line
    model_config = ConfigDict(frozen=True, extra="forbid")


class Equipment(_Entry):
    id: Id
    name: Name
    note: Text | None = None


class Answer(_Entry):
    id: Id
    label: Label
    score: int = Field(strict=True, ge=0, le=10)  # 0 = moves freely; higher = more restricted
    # Positions that load what this answer found painful: left out of the breaks until a
    # later self-check gives another answer.
    eases: tuple[Id, ...] = ()


class Question(_Entry):
    id: Id
    text: Text
    how: Instructions
    answers: tuple[Answer, ...] = Field(min_length=2)

    def answer(self, answer_id: str) -> Answer:
        return _find(self.answers, answer_id, "answer")


class Assessment(_Entry):
    intro: Intro
    questions: tuple[Question, ...] = Field(min_length=1)

    def question(self, question_id: str) -> Question:
        return _find(self.questions, question_id, "question")


class Variant(_Entry):
    """How to do a position in one place: its own title, set-up, how-to and side switch.

    The set-up stands on its own (a break may start with any position), so it never
    assumes the position before it.
    """

    name: Name
    setup: SetupText
    instructions: Instructions
    switch: Instructions | None = None  # how to change sides; required for two-sided holds
    equipment: tuple[Id, ...] = ()
    adaptation: bool = Field(strict=True)  # True: our alternative, not the article's version
    cues: tuple[Cue, ...] | None = Field(default=None, min_length=1)  # replaces position cues


class Variants(_Entry):
    desk: Variant
    band: Variant
    floor: Variant


class Position(_Entry):
    id: Id
    name: Name
    # The hold on EACH side ("both"), or the whole hold ("none").
    seconds: int = Field(default=DEFAULT_SECONDS, strict=True, ge=MIN_SECONDS, le=MAX_SECONDS)
    sides: Sides  # "both": one side, then the other (each for `seconds`)
    cues: tuple[Cue, ...] = Field(min_length=1)
    variants: Variants
    # Not offered to a user who said yes to any of these (every variant moves the same way).
    avoid_with: tuple[Condition, ...] = ()

    @model_validator(mode="after")
    def _switch_where_there_are_sides(self) -> Position:
        for place in PLACES:
            has_switch = self.variant(place).switch is not None
            if has_switch != (self.sides == "both"):
                need = "needs" if self.sides == "both" else "must not have"
                raise PydanticCustomError(
                    "switch", f"a '{self.sides}'-sided position {need} a 'switch' text in "
                    f"its {place} variant")
        return self

    @property
    def side_count(self) -> int:
        return 2 if self.sides == "both" else 1

    @property
    def duration(self) -> timedelta:
        """The whole hold, every side."""
        return timedelta(seconds=self.seconds * self.side_count)

    def variant(self, place: Place) -> Variant:
        return getattr(self.variants, place)  # type: ignore[no-any-return]

    def cues_for(self, place: Place) -> tuple[str, ...]:
        return self.variant(place).cues or self.cues


class Caution(_Entry):
    """A safety note that applies only at some places (kneeling, a band under load)."""

    text: Text
    places: tuple[Place, ...] = Field(min_length=1)


class Stretch(_Entry):
    id: Id
    name: Name
    targets: Text
    equipment: tuple[Id, ...] = ()
    # A plain text applies everywhere; {text, places} only at those places.
    cautions: tuple[Text | Caution, ...] = Field(min_length=1)
    bonus: bool = Field(default=False, strict=True)
    positions: tuple[Position, ...] = Field(min_length=1)

    def cautions_for(self, place: Place) -> tuple[str, ...]:
        return tuple(c if isinstance(c, str) else c.text for c in self.cautions
                     if isinstance(c, str) or place in c.places)

    def equipment_for(self, place: Place) -> tuple[str, ...]:
        """Equipment ids the positions need at this place, in first-use order."""
        ids = (item for p in self.positions for item in p.variant(place).equipment)
        return tuple(dict.fromkeys(ids))


class Places(_Entry):
    """What each place offers, as equipment ids: a variant asks for nothing else."""

    desk: tuple[Id, ...]
    band: tuple[Id, ...]
    floor: tuple[Id, ...]

    def offers(self, place: Place) -> tuple[str, ...]:
        return getattr(self, place)  # type: ignore[no-any-return]


class Program(_Entry):
    equipment: tuple[Equipment, ...]
    places: Places
    assessment: Assessment
    stretches: tuple[Stretch, ...]

    # Worked out once: every reminder looks up its positions' names and minutes.
    _ordered: tuple[tuple[Stretch, Position], ...] = PrivateAttr(default=())
    _by_id: dict[str, tuple[Stretch, Position]] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        ordered = sorted(self.stretches, key=lambda stretch: stretch.bonus)  # stable
        self._ordered = tuple((stretch, position) for stretch in ordered
                              for position in stretch.positions)
        for stretch, position in reversed(self._ordered):  # the first of an id wins
            self._by_id[position.id] = (stretch, position)

    def positions(self) -> tuple[tuple[Stretch, Position], ...]:
        """Every position of the sequence in order, bonus stretches last."""
        return self._ordered

    def position(self, position_id: str) -> Position:
        """The position with this id; KeyError for an unknown id (e.g. stale callback data)."""
        return self._pair(position_id)[1]

    def stretch_of(self, position_id: str) -> Stretch:
        return self._pair(position_id)[0]

    def stretch(self, stretch_id: str) -> Stretch:
        return _find(self.stretches, stretch_id, "stretch")

    def eased_by(self, answers: Mapping[str, str]) -> tuple[str, ...]:
        """The positions a self-check's answers ease off ({question id: answer id}), in
        sequence order; unknown ids (content changed since) ease nothing."""
        eased = {position_id for q in self.assessment.questions for a in q.answers
                 if answers.get(q.id) == a.id for position_id in a.eases}
        return tuple(p.id for _s, p in self.positions() if p.id in eased)

    def equipment_item(self, equipment_id: str) -> Equipment:
        return _find(self.equipment, equipment_id, "equipment")

    def texts(self) -> tuple[tuple[str, str], ...]:
        """Every user-facing text as (where, text): for checks and translation catalogues."""
        out: list[tuple[str, str]] = [("assessment.intro", self.assessment.intro)]
        for q in self.assessment.questions:
            out += [(f"{q.id}.text", q.text), (f"{q.id}.how", q.how)]
            out += [(f"{q.id}.{a.id}.label", a.label) for a in q.answers]
        for e in self.equipment:
            out += [
                (f"equipment.{e.id}.{k}", v) for k, v in (("name", e.name), ("note", e.note)) if v
            ]
        for s in self.stretches:
            out += [(f"{s.id}.name", s.name), (f"{s.id}.targets", s.targets)]
            out += [(f"{s.id}.cautions", c if isinstance(c, str) else c.text)
                    for c in s.cautions]
            for p in s.positions:
                out.append((f"{s.id}/{p.id}.name", p.name))
                out += [(f"{s.id}/{p.id}.cues", text) for text in p.cues]
                for place in PLACES:
                    v = p.variant(place)
                    out += [(f"{s.id}/{p.id}.{place}.{k}", text) for k, text in (
                        ("name", v.name), ("setup", v.setup), ("instructions", v.instructions),
                        ("switch", v.switch)) if text]
                    out += [(f"{s.id}/{p.id}.{place}.cues", text) for text in v.cues or ()]
        return tuple(out)

    def catalogue(self) -> tuple[tuple[str, str, str], ...]:
        """Every user-facing text as (file, stable id, English) for the translation catalogue:
        the id is the text's msgctxt, so an edit to the English marks its translation as
        needing review instead of losing it."""
        out: list[tuple[str, str, str]] = []

        def add(file: str, key: str, text: str | None) -> None:
            if text:
                out.append((file, key, text))

        a = self.assessment
        add("assessment.yaml", "assessment.intro", a.intro)
        for q in a.questions:
            add("assessment.yaml", f"assessment.{q.id}.text", q.text)
            add("assessment.yaml", f"assessment.{q.id}.how", q.how)
            for answer in q.answers:
                add("assessment.yaml", f"assessment.{q.id}.answers.{answer.id}.label",
                    answer.label)
        for e in self.equipment:
            add("equipment.yaml", f"equipment.{e.id}.name", e.name)
            add("equipment.yaml", f"equipment.{e.id}.note", e.note)
        for s in self.stretches:
            key = f"stretch.{s.id}"
            add("stretches.yaml", f"{key}.name", s.name)
            add("stretches.yaml", f"{key}.targets", s.targets)
            for n, c in enumerate(s.cautions, 1):
                add("stretches.yaml", f"{key}.cautions.{n}", c if isinstance(c, str) else c.text)
            for p in s.positions:
                pkey = f"{key}.positions.{p.id}"
                add("stretches.yaml", f"{pkey}.name", p.name)
                for n, cue in enumerate(p.cues, 1):
                    add("stretches.yaml", f"{pkey}.cues.{n}", cue)
                for place in PLACES:
                    v = p.variant(place)
                    vkey = f"{pkey}.variants.{place}"
                    for name, text in (("name", v.name), ("setup", v.setup),
                                       ("instructions", v.instructions), ("switch", v.switch)):
                        add("stretches.yaml", f"{vkey}.{name}", text)
                    for n, cue in enumerate(v.cues or (), 1):
                        add("stretches.yaml", f"{vkey}.cues.{n}", cue)
        return tuple(out)

    def _pair(self, position_id: str) -> tuple[Stretch, Position]:
        try:
            return self._by_id[position_id]
        except KeyError:
            raise KeyError(f"no position {position_id!r}") from None


class _EquipmentFile(_Entry):
    equipment: tuple[Equipment, ...] = Field(min_length=1)
    places: Places


class _StretchesFile(_Entry):
    stretches: tuple[Stretch, ...] = Field(min_length=1)


_HasId = TypeVar("_HasId", Equipment, Answer, Question, Stretch)


def _find(items: Iterable[_HasId], item_id: str, kind: str) -> _HasId:
    for item in items:
        if item.id == item_id:
            return item
    raise KeyError(f"no {kind} {item_id!r}")


class ContentError(Exception):
    """A content file is missing or wrong; the message is one line naming where and what."""

    def __init__(
        self,
        file: Path,
        problem: str,
        *,
        line: int | None = None,
        entry: str | None = None,
        field: str | None = None,
    ) -> None:
        self.file, self.problem, self.line = file, problem, line
        self.entry, self.field = entry, field
        where = [str(file)]
        where += [f"line {line}"] if line else []
        where += [entry] if entry else []
        where += [f"field '{field}'"] if field else []
        super().__init__(" ".join(f"{', '.join(where)}: {problem}".split()))


def load_program(directory: Path | None = None) -> Program:
    """Read and check every content file; raise ContentError on the first problem found."""
    directory = CONTENT_DIR if directory is None else directory
    if not directory.is_dir():
        raise ContentError(directory, "the content folder does not exist")
    equipment_src = _read(directory / EQUIPMENT_FILE)
    assessment_src = _read(directory / ASSESSMENT_FILE)
    stretches_src = _read(directory / STRETCHES_FILE)
    equipment_file = _validate(equipment_src, _EquipmentFile)
    equipment, places = equipment_file.equipment, equipment_file.places
    assessment = _validate(assessment_src, Assessment)
    stretches = _validate(stretches_src, _StretchesFile).stretches

    _check_unique(
        equipment_src, "equipment", [("equipment", i, e.id) for i, e in enumerate(equipment)]
    )
    questions = list(enumerate(assessment.questions))
    _check_unique(assessment_src, "question", [("questions", i, q.id) for i, q in questions])
    for i, q in questions:
        answers = [("questions", i, "answers", j, a.id) for j, a in enumerate(q.answers)]
        _check_unique(assessment_src, "answer", answers)
    stretch_list = list(enumerate(stretches))
    _check_unique(stretches_src, "stretch", [("stretches", i, s.id) for i, s in stretch_list])
    # Position ids are looked up across the whole sequence, so they are unique across it.
    positions = [(i, j, p) for i, s in stretch_list for j, p in enumerate(s.positions)]
    _check_unique(
        stretches_src, "position", [("stretches", i, "positions", j, p.id) for i, j, p in positions]
    )
    known = {item.id for item in equipment}
    for i, stretch in stretch_list:
        _check_equipment(stretches_src, ("stretches", i, "equipment"), stretch.equipment, known)
    for place in PLACES:
        _check_equipment(equipment_src, ("places", place), places.offers(place), known)
    for i, j, position in positions:
        for place in PLACES:
            loc = ("stretches", i, "positions", j, "variants", place, "equipment")
            _check_equipment(stretches_src, loc, position.variant(place).equipment, known)
            # What the title says is what the user does: with what they said they have.
            offered = set(places.offers(place))
            for index, item in enumerate(position.variant(place).equipment):
                if item not in offered:
                    raise _error_at(stretches_src, (*loc, index), (
                        f"'{item}' is not among what the {place} place offers "
                        f"({', '.join(places.offers(place))}; see 'places' in {EQUIPMENT_FILE})"))
    position_ids = {p.id for _i, _j, p in positions}
    for i, q in questions:
        for j, a in enumerate(q.answers):
            for k, position_id in enumerate(a.eases):
                if position_id not in position_ids:
                    raise _error_at(assessment_src, ("questions", i, "answers", j, "eases", k),
                                    f"no position '{position_id}' in {STRETCHES_FILE}")
    return Program(equipment=equipment, places=places, assessment=assessment,
                   stretches=stretches)


_Loc = Sequence[str | int]
_File = TypeVar("_File", bound=BaseModel)


@dataclass(frozen=True)
class _Source:
    """A parsed file: its data and the YAML node tree that knows where each value is written."""

    path: Path
    data: Any
    root: yaml.Node | None


class _Loader(yaml.SafeLoader):
    """YAML loader that rejects a field written twice (plain YAML keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the field '{key}' is written twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read(path: Path) -> _Source:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContentError(path, "the file is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError(path, f"the file cannot be read as UTF-8 text ({exc})") from None
    try:
        loader = _Loader(text)  # the reader rejects control characters right here
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        problem = f"the file contains an invisible control character (U+{exc.character:04X})"
        raise ContentError(path, problem, line=line) from None
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = "; ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise ContentError(
            path,
            f"not valid YAML ({detail}); check indentation, dashes and quotes",
            line=mark.line + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise ContentError(path, f"not valid YAML ({exc})") from None
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]
    return _Source(path, data, root)


def _validate(source: _Source, model: type[_File]) -> _File:
    if not isinstance(source.data, dict):
        expected = ", ".join(f"'{name}:'" for name in model.model_fields)
        raise ContentError(source.path, f"the file should start with {expected}", line=1)
    try:
        return model.model_validate(source.data)
    except ValidationError as exc:
        errors = _root_causes(exc.errors(include_url=False))
        # Report the problem nearest the top of the file: that is where an editor looks first.
        first = min(errors, key=lambda e: _line_of(source.root, e["loc"]) or 0)
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise _error_at(source, first["loc"], _problem(first) + more) from None


def _root_causes(errors: list[Any]) -> list[Any]:
    """Drop errors that only echo another one, so the message points at the real mistake."""
    # A list whose entries failed also reports itself as too short; a misspelt field also
    # reports the correctly spelt one as missing.
    misspelt_in = {tuple(e["loc"][:-1]) for e in errors if e["type"] == "extra_forbidden"}
    kept = [
        e
        for e in errors
        if not (e["type"] == "missing" and tuple(e["loc"][:-1]) in misspelt_in)
        and not (
            e["type"] == "too_short"
            and any(
                len(o["loc"]) > len(e["loc"]) and o["loc"][: len(e["loc"])] == e["loc"]
                for o in errors
            )
        )
    ]
    return kept or errors


def _error_at(source: _Source, loc: _Loc, problem: str) -> ContentError:
    """A ContentError for the entry and field at loc, with the line where it is written."""
    entries: list[str] = []
    field_start = 0
    current, parent_key = source.data, None
    for i, step in enumerate(loc):
        if isinstance(step, int) and isinstance(current, list) and 0 <= step < len(current):
            current = current[step]
            if isinstance(current, dict) and parent_key is not None and parent_key in _KINDS:
                ident = current.get("id")
                name = f"'{ident}'" if isinstance(ident, str) else f"#{step + 1}"
                entries.append(f"{_KINDS[parent_key]} {name}")
                field_start = i + 1
        elif isinstance(step, str) and isinstance(current, dict):
            current = current.get(step)
        else:
            current = None
        parent_key = step if isinstance(step, str) else None
    field = ".".join(f"item {s + 1}" if isinstance(s, int) else s for s in loc[field_start:])
    return ContentError(
        source.path,
        problem,
        line=_line_of(source.root, loc),
        entry=", ".join(entries) or None,
        field=field or None,
    )


_KINDS: Final = {
    "stretches": "stretch",
    "positions": "position",
    "questions": "question",
    "answers": "answer",
    "equipment": "equipment",
    "pictures": "picture",
}


def _line_of(root: yaml.Node | None, loc: _Loc) -> int | None:
    """Line (1-based) where loc is written, or of its closest parent that exists."""
    node = root
    line = root.start_mark.line + 1 if root is not None else None
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if getattr(k, "value", None) == step]
            if not match:
                break
            line, node = match[0][0].start_mark.line + 1, match[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            if not 0 <= step < len(node.value):
                break
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _field_names() -> set[str]:
    models: list[type[BaseModel]] = [Equipment, Answer, Question, Assessment, Variant, Variants]
    models += [Position, Caution, Stretch, Places, _EquipmentFile, _StretchesFile]
    return {name for model in models for name in model.model_fields}


def _problem(error: Any) -> str:
    """Plain words for a pydantic error, for someone editing YAML by hand."""
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    got = _short(value)
    last = error["loc"][-1] if error["loc"] else None
    if kind == "missing":
        return "this required field is missing"
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(last), _field_names(), n=1, cutoff=0.75)
        return "unknown field" + (f" (did you mean '{close[0]}'?)" if close else "")
    if last == "seconds" and kind in ("greater_than_equal", "less_than_equal"):
        return f"must be between {MIN_SECONDS} and {MAX_SECONDS} seconds (got {got})"
    if kind == "string_too_long":
        return f"too long: {len(value)} characters, at most {ctx.get('max_length')}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_type" and value is None:
        return "is empty: write the text after the colon"
    if kind == "string_type":
        # YAML reads "a: b" as a field and yes/no/3 as non-text: quoting fixes both
        return f"should be a text (got {got}); put the text in double quotes"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind in ("tuple_type", "list_type"):
        return f"should be a list of items, each on a line starting with '- ' (got {got})"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"should be a group of fields, one per line (got {got})"
    if kind == "bool_type":
        return f"should be true or false (got {got})"
    if kind == "int_type":
        return f"should be a whole number (got {got})"
    message = str(error["msg"]).removeprefix("Value error, ")
    return message if kind == "value_error" else f"{message} (got {got})"


def _check_unique(source: _Source, kind: str, entries: Sequence[Sequence[str | int]]) -> None:
    """entries: (*location of the entry, its id)."""
    seen: set[str | int] = set()
    for *loc, ident in entries:
        if ident in seen:
            problem = f"the {kind} id '{ident}' is used twice; ids must be unique"
            raise _error_at(source, (*loc, "id"), problem)
        seen.add(ident)


def _check_equipment(source: _Source, loc: _Loc, ids: Sequence[str], known: set[str]) -> None:
    for index, item in enumerate(ids):
        if item not in known:
            listed = ", ".join(sorted(known))
            problem = f"unknown equipment '{item}' (known in {EQUIPMENT_FILE}: {listed})"
            raise _error_at(source, (*loc, index), problem)


def _short(value: Any) -> str:
    # A whole misplaced entry would otherwise flood the one-line message.
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
