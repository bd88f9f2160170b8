"""The stretch content: what ships in content/, and how a broken file is reported."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.content import (
    CONTENT_DIR,
    DEFAULT_SECONDS,
    PLACES,
    STRETCHES_FILE,
    ContentError,
    Program,
    Variants,
    as_place,
    load_program,
)
from bot.domain.guided_break import hold_reply, hold_steps, position_reply
from bot.storage.models import Break

TELEGRAM_MESSAGE_LIMIT = 4096
TELEGRAM_CALLBACK_LIMIT = 64
ROOM_TO_SPARE = 1024  # a position message should be a fraction of the limit

# The article's sequence: front of hip with its two progressions, lateral distraction,
# posterior hip, leg cross and twist, hamstrings, and the bonus static hip-flexor stretch.
SEQUENCE = [
    ("front_hip", ["fh_9090", "fh_side", "fh_introt"]),
    ("lateral", ["lat_dist"]),
    ("posterior", ["post_hip"]),
    ("cross_twist", ["twist"]),
    ("hamstrings", ["ham_fold", "ham_stagger"]),
    ("hip_flexor", ["hf_static"]),
]
MARKUP = re.compile(r"[*_`<>\[\]{}]")  # would need escaping, or break str.format


@pytest.fixture(scope="module")
def program() -> Program:
    return load_program()


# --- the shipped content -------------------------------------------------------------


def test_default_folder_is_the_repos_content_folder() -> None:
    assert Path(__file__).resolve().parent.parent / "content" == CONTENT_DIR
    assert load_program() == load_program(CONTENT_DIR)


def test_sequence_is_the_articles_in_order_with_the_bonus_last(program: Program) -> None:
    assert [(s.id, [p.id for p in s.positions]) for s in program.stretches] == SEQUENCE
    flat = [p.id for _, p in program.positions()]
    assert flat == [p for _, ids in SEQUENCE for p in ids]
    assert [s.id for s in program.stretches if s.bonus] == ["hip_flexor"]
    assert program.positions()[-1][0].bonus


def test_bonus_stretch_comes_last_even_if_listed_first(tmp_path: Path) -> None:
    copy = copy_content(tmp_path)
    data = yaml.safe_load((copy / STRETCHES_FILE).read_text())
    data["stretches"].insert(0, data["stretches"].pop())
    (copy / STRETCHES_FILE).write_text(yaml.safe_dump(data, sort_keys=False))
    positions = load_program(copy).positions()
    assert positions[-1][1].id == "hf_static"
    assert positions[0][1].id == "fh_9090"


def test_every_position_holds_two_minutes_a_side_and_the_bonus_one(program: Program) -> None:
    assert DEFAULT_SECONDS == 120
    for stretch, position in program.positions():
        # The article: about 2 min in each position; "some time" for the bonus.
        assert position.seconds == (60 if stretch.bonus else 120), position.id
        sides = 2 if position.sides == "both" else 1
        assert position.duration.total_seconds() == position.seconds * sides
    # The hamstring positions alternate the legs inside the hold: no "switch sides" there.
    assert [p.sides for p in program.stretch("hamstrings").positions] == ["none", "none"]


def test_every_position_has_several_short_cues_at_every_place(program: Program) -> None:
    for _, position in program.positions():
        for place in PLACES:
            cues = position.cues_for(place)
            assert len(cues) >= 2, (position.id, place)
            # the article: work on your breathing while you hold each position
            assert any("breath" in cue.lower() for cue in cues), (position.id, place)


def test_every_position_has_all_three_variants(program: Program) -> None:
    assert set(Variants.model_fields) == set(PLACES) == {"desk", "band", "floor"}
    for _, position in program.positions():
        for place in PLACES:
            assert position.variant(place).instructions.strip(), (position.id, place)


def test_every_desk_variant_is_marked_as_an_adaptation(program: Program) -> None:
    # The article has no desk versions at all: each one is ours.
    for _, position in program.positions():
        assert position.variant("desk").adaptation is True, position.id


def test_desk_variants_need_no_band_and_no_floor(program: Program) -> None:
    floor_words = re.compile(r"\b(band|kettlebell|mat|kneel|all fours|hands and knees|lie)\b", re.I)
    for stretch, position in program.positions():
        desk = position.variant("desk")
        for text in (desk.name, desk.setup, desk.instructions, desk.switch or "",
                     *position.cues_for("desk"), *stretch.cautions_for("desk")):
            assert not floor_words.search(text), text
        assert set(desk.equipment) <= {"desk", "chair"}, position.id


def test_band_place_has_no_kettlebell(program: Program) -> None:
    for _, position in program.positions():
        band = position.variant("band")
        assert "kettlebell" not in band.equipment, position.id
        assert "kettlebell" not in band.instructions.lower(), position.id
    # ...so the kettlebell progression is adapted there, and is the article's on the floor.
    rotation = program.position("fh_introt")
    assert rotation.variant("band").adaptation is True
    assert rotation.variant("floor").adaptation is False
    assert "kettlebell" in rotation.variant("floor").equipment
    assert "kettlebell" in program.stretch("front_hip").equipment_for("floor")


def test_band_variants_carry_the_articles_facts(program: Program) -> None:
    def band(position_id: str) -> str:
        return program.position(position_id).variant("band").instructions.lower()

    setup = program.position("fh_9090").variant("band").setup.lower()
    assert "glute" in setup and "facing" in setup
    assert "90 degrees" in band("fh_9090")
    assert "bend your upper body" in band("fh_side")  # lateral flexion
    assert "away from your midline" in band("fh_introt")
    assert "groin" in program.position("lat_dist").variant("band").setup.lower()
    assert "away from your midline" in band("lat_dist")
    assert "hands and knees facing away from the anchor" in band("post_hip")
    assert "cross" in band("twist")
    assert "tailbone toward the ceiling" in band("ham_fold")
    assert "low back is flat" in band("ham_fold")
    assert "one foot forward" in band("ham_stagger")
    flexor = program.position("hf_static")
    assert "squeeze the glute" in flexor.variant("band").instructions.lower()
    assert any("end range" in cue for cue in flexor.cues)
    for position_id in ("fh_9090", "fh_side", "lat_dist", "post_hip", "ham_fold"):
        assert program.position(position_id).variant("band").adaptation is False


def test_band_cues_say_let_the_band_work_and_find_stuck_spots(program: Program) -> None:
    for position_id in ("fh_9090", "lat_dist", "post_hip"):
        cues = " ".join(program.position(position_id).cues_for("band")).lower()
        assert "band" in cues and "stuck" in cues, position_id
        assert "neutral" in cues, position_id


def test_cautions_cover_pain_knees_and_the_anchor(program: Program) -> None:
    for stretch in program.stretches:
        for place in PLACES:
            assert any("sharp" in text for text in stretch.cautions_for(place)), stretch.id
    for stretch_id in ("front_hip", "posterior", "hip_flexor"):  # kneeling
        for place in ("band", "floor"):
            assert any("towel" in text for text in program.stretch(stretch_id).cautions_for(place))
    for stretch_id in ("front_hip", "lateral", "posterior"):  # band under load
        for place in ("band", "floor"):
            assert any("anchor" in text for text in program.stretch(stretch_id).cautions_for(place))


def test_equipment_is_the_articles_kit(program: Program) -> None:
    ids = {item.id for item in program.equipment}
    assert {"band", "anchor", "mat", "chair", "kettlebell", "towel"} <= ids
    assert "sizes" in (program.equipment_item("band").note or "") or "strengths" in (
        program.equipment_item("band").note or ""
    )


def test_assessment_asks_the_articles_three_questions(program: Program) -> None:
    questions = program.assessment.questions
    assert [q.id for q in questions] == ["sit_90_90", "knee_chest", "int_rot"]
    assert "90-90" in questions[0].text
    assert "head" in questions[1].text and "tailbone" in questions[1].text
    assert "away from the middle" in questions[2].how
    for question in questions:
        assert [a.id for a in question.answers] == ["easy", "hard", "painful"]
        scores = [a.score for a in question.answers]
        assert scores == sorted(scores) and scores[0] == 0
        assert question.answer("hard").label


def test_lookups_by_id(program: Program) -> None:
    assert program.position("lat_dist").name == "Lateral distraction"
    assert program.stretch_of("fh_side").id == "front_hip"
    assert program.stretch_of("hf_static").bonus
    with pytest.raises(KeyError):
        program.position("nope")
    with pytest.raises(KeyError):
        program.stretch_of("fh_9090:x")
    with pytest.raises(KeyError):
        program.assessment.question("nope")


def test_program_is_immutable(program: Program) -> None:
    with pytest.raises(pydantic.ValidationError):
        program.position("twist").seconds = 5  # type: ignore[misc]
    assert isinstance(program.stretches, tuple)


# --- sizes, ids and plain text ---------------------------------------------------------


def test_every_text_is_plain_and_short(program: Program) -> None:
    texts = program.texts()
    assert len(texts) > 100
    for where, text in texts:
        assert text == text.strip() and "  " not in text and "\n" not in text, where
        assert not MARKUP.search(text), where
        assert len(text) <= 600, where
        if ".cues" in where:
            assert len(text) <= 200, where
        if where.endswith(".instructions"):
            assert len(text) <= 300, where
        if where.endswith(".label"):
            assert len(text) <= 40, where


def test_a_position_message_fits_with_room_to_spare(program: Program) -> None:
    for stretch, position in program.positions():
        for place in PLACES:
            message = "\n\n".join(
                [
                    f"{stretch.name}: {position.name} ({position.seconds} s, both sides)",
                    position.variant(place).instructions,
                    position.cues_for(place)[0],
                ]
            )
            assert len(message) <= ROOM_TO_SPARE, (position.id, place)


def test_a_stretch_introduction_fits_in_one_message(program: Program) -> None:
    for stretch in program.stretches:
        for place in PLACES:
            message = "\n".join(
                [stretch.name, stretch.targets, *stretch.cautions_for(place)]
                + [p.variant(place).setup for p in stretch.positions]
                + [p.variant(place).name for p in stretch.positions]
                + [program.equipment_item(i).name for i in stretch.equipment_for(place)]
            )
            assert len(message) <= TELEGRAM_MESSAGE_LIMIT // 2, stretch.id


def test_the_whole_routine_overview_and_assessment_fit_in_one_message(program: Program) -> None:
    overview = "\n".join(f"{s.name}: {p.name}" for s, p in program.positions())
    assert len(overview) <= TELEGRAM_MESSAGE_LIMIT // 2
    for question in program.assessment.questions:
        message = "\n\n".join([program.assessment.intro, question.text, question.how])
        assert len(message) <= TELEGRAM_MESSAGE_LIMIT // 2


def test_ids_are_unique_short_and_fit_in_callback_data(program: Program) -> None:
    id_pattern = re.compile(r"[a-z][a-z0-9_]{0,11}")
    groups = {
        "stretch": [s.id for s in program.stretches],
        "position": [p.id for _, p in program.positions()],
        "question": [q.id for q in program.assessment.questions],
        "equipment": [e.id for e in program.equipment],
    }
    groups |= {f"answer of {q.id}": [a.id for a in q.answers] for q in program.assessment.questions}
    for kind, ids in groups.items():
        assert len(ids) == len(set(ids)), kind
        for ident in ids:
            assert id_pattern.fullmatch(ident), (kind, ident)
            assert len(ident.encode()) <= 12, (kind, ident)
    # A button carrying a 24-byte action and three ids still fits.
    longest = max(len(i) for ids in groups.values() for i in ids)
    assert len(("x" * 24 + f":{'y' * longest}" * 3).encode()) <= TELEGRAM_CALLBACK_LIMIT


def simulated_hold(program: Program, position_id: str, place: str, short: bool) -> list[str]:
    """Every text the user sees for one position, first of its break: the set-up message,
    then the live message at each moment of the hold (edits and new messages alike)."""
    position = program.position(position_id)
    brk = Break(id=7, positions=[position_id], positions_done=[], position_index=0,
                attempt=0, place=place, short=short)
    seen = [position_reply(program, brk, place, "en").text,
            hold_reply(program, brk, place, "en", 0).text]
    seen += [hold_reply(program, brk, place, "en", step.at).text
             for step in hold_steps(position, as_place(place), short) if step.stage != "done"]
    return seen


@pytest.mark.parametrize("short", [False, True])
def test_every_cue_and_caution_reaches_the_user_in_a_simulated_hold(
    program: Program, short: bool
) -> None:
    for stretch, position in program.positions():
        for place in PLACES:
            seen = "\n".join(simulated_hold(program, position.id, place, short))
            for text in (*position.cues_for(place), *stretch.cautions_for(place)):
                assert text in seen, (position.id, place, text)
            variant = position.variant(place)
            for text in (variant.name, variant.setup, variant.instructions, variant.switch):
                assert text is None or text in seen, (position.id, place, text)
            assert stretch.targets in seen


def test_every_variant_has_its_own_title_set_up_and_how_to(program: Program) -> None:
    variants = [(p.id, place, p.variant(place)) for _, p in program.positions() for place in PLACES]
    for field in ("name", "setup", "instructions"):
        texts = [getattr(v, field) for _, _, v in variants]
        assert len(texts) == len(set(texts)), field
    # Titles that once contradicted the position: the title says what the user does.
    assert "kettlebell" not in program.position("fh_introt").variant("band").name.lower()
    assert "kneeling" not in program.position("fh_9090").variant("desk").name.lower()
    assert "lying" not in program.position("twist").variant("desk").name.lower()
    assert "band" not in program.position("lat_dist").variant("desk").name.lower()
    assert "seated" in program.position("post_hip").variant("desk").name.lower()


def test_equipment_fits_what_each_place_offers(program: Program) -> None:
    for _, position in program.positions():
        for place in PLACES:
            needed = set(position.variant(place).equipment)
            assert needed <= set(program.places.offers(place)), (position.id, place)
    assert "kettlebell" not in program.places.offers("band")
    assert "band" not in program.places.offers("desk")


def test_no_set_up_leans_on_the_position_before_it(program: Program) -> None:
    # A break may start with any position: each set-up stands on its own, and where the
    # band is used, the set-up says how it goes on.
    mid_flow = re.compile(r"^(from |then|when you find|take the same|keep the band|"
                          r"set up in the|as for|save this)", re.I)
    for _, position in program.positions():
        for place in PLACES:
            variant = position.variant(place)
            for text in (variant.setup, variant.instructions):
                assert not mid_flow.search(text), (position.id, place, text)
            if "band" in variant.equipment:
                assert "band" in variant.setup.lower() or "loop" in variant.setup.lower(), (
                    position.id, place)


# --- broken files ----------------------------------------------------------------------


def copy_content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    return target


def edit(path: Path, anchor: str, old: str, new: str) -> int:
    """Replace the first `old` after the unique `anchor`; return the 1-based line edited."""
    text = path.read_text()
    assert text.count(anchor) == 1, f"{anchor!r} should appear once in {path.name}"
    start = text.index(anchor)
    at = text.index(old, start)
    path.write_text(text[:at] + new + text[at + len(old) :])
    return text.count("\n", 0, at) + 1


def edit_data(path: Path, change: Any) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def find_position(data: dict[str, Any], position_id: str) -> dict[str, Any]:
    for stretch in data["stretches"]:
        for position in stretch["positions"]:
            if position["id"] == position_id:
                return position  # type: ignore[no-any-return]
    raise AssertionError(position_id)


def load_error(directory: Path) -> ContentError:
    with pytest.raises(ContentError) as caught:
        load_program(directory)
    message = str(caught.value)
    assert "\n" not in message
    return caught.value


def test_misspelt_field_names_file_line_entry_and_field(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    line = edit(content / STRETCHES_FILE, "- id: lat_dist", "instructions:", "instrucions:")
    error = load_error(content)
    message = str(error)
    assert "stretches.yaml" in message and f"line {line}," in message
    assert "position 'lat_dist'" in message and "stretch 'lateral'" in message
    assert "'variants.band.instrucions'" in message
    assert "did you mean 'instructions'" in message
    assert (error.file.name, error.line, error.field) == (
        STRETCHES_FILE,
        line,
        "variants.band.instrucions",
    )


def test_misspelt_answer_field_in_the_assessment(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    line = edit(content / "assessment.yaml", "- id: int_rot", "label:", "lable:")
    message = str(load_error(content))
    assert "assessment.yaml" in message and f"line {line}," in message
    assert "question 'int_rot', answer 'easy'" in message and "'lable'" in message


def test_missing_variant_is_named(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    edit_data(
        content / STRETCHES_FILE,
        lambda data: find_position(data, "post_hip")["variants"].pop("desk"),
    )
    message = str(load_error(content))
    assert "stretches.yaml" in message and "position 'post_hip'" in message
    assert "field 'variants.desk'" in message and "missing" in message


@pytest.mark.parametrize("seconds", ["5", "601", "0", "-120", "900"])
def test_duration_outside_10_to_600_seconds(tmp_path: Path, seconds: str) -> None:
    content = copy_content(tmp_path)
    line = edit(
        content / STRETCHES_FILE, "- id: ham_stagger", "seconds: 120", f"seconds: {seconds}"
    )
    message = str(load_error(content))
    assert f"line {line}," in message and "position 'ham_stagger'" in message
    assert "field 'seconds'" in message and "between 10 and 600" in message


def test_duration_written_as_words(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    edit(content / STRETCHES_FILE, "- id: twist", "seconds: 120", "seconds: two minutes")
    message = str(load_error(content))
    assert "position 'twist'" in message and "field 'seconds'" in message
    assert "whole number" in message


def test_left_out_duration_defaults_to_two_minutes(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    edit(content / STRETCHES_FILE, "- id: twist", "        seconds: 120\n", "")
    assert load_program(content).position("twist").seconds == 120


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("name: Standing sideways band pull", 'name: "Standing sideways band pull',
         "quoted scalar"),
        ("        sides: both\n", "       sides: both\n", "not valid YAML"),
        ("        sides: both\n", "\tsides: both\n", "not valid YAML"),
    ],
)
def test_broken_yaml_names_the_file_and_line(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    content = copy_content(tmp_path)
    edit(content / STRETCHES_FILE, "- id: lateral", old, new)
    error = load_error(content)
    assert error.file.name == STRETCHES_FILE and error.line is not None
    assert expected in str(error) and f"line {error.line}" in str(error)


def test_a_field_written_twice(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    line = edit(
        content / STRETCHES_FILE,
        "- id: twist",
        "        sides: both\n",
        "        sides: both\n        sides: none\n",
    )
    message = str(load_error(content))
    assert f"line {line + 1}" in message and "'sides' is written twice" in message


def test_a_colon_inside_a_cue_asks_for_quotes(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    edit(content / STRETCHES_FILE, "- id: hf_static", "- Breathe! Slow", "- Breathe: slow")
    message = str(load_error(content))
    assert "position 'hf_static'" in message and "field 'cues.item 4'" in message
    assert "double quotes" in message


def test_duplicate_position_id(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    line = edit(content / STRETCHES_FILE, "- id: ham_stagger", "ham_stagger", "fh_side")
    message = str(load_error(content))
    assert f"line {line}," in message and "stretch 'hamstrings', position 'fh_side'" in message
    assert "field 'id'" in message and "used twice" in message


def test_duplicate_answer_id(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    edit(content / "assessment.yaml", "- id: knee_chest", "- id: hard", "- id: easy")
    message = str(load_error(content))
    assert "question 'knee_chest', answer 'easy'" in message and "used twice" in message


@pytest.mark.parametrize("bad_id", ["LatDist", "lat-dist", "lat_dist_long", "9lat", '""'])
def test_ids_that_do_not_fit_callback_data(tmp_path: Path, bad_id: str) -> None:
    content = copy_content(tmp_path)
    line = edit(content / STRETCHES_FILE, "- id: lat_dist", "lat_dist", bad_id)
    message = str(load_error(content))
    assert f"line {line}," in message and "stretch 'lateral'" in message
    assert "field 'id'" in message and "at most 12 characters" in message


def test_a_variant_asking_for_what_its_place_lacks(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    line = edit(content / STRETCHES_FILE, "- id: fh_introt", "equipment: [band, anchor, towel]",
                "equipment: [band, anchor, kettlebell]")
    error = load_error(content)
    assert error.line == line and "fh_introt" in str(error)
    assert "'kettlebell' is not among what the band place offers" in str(error)


def test_a_two_sided_position_without_its_switch(tmp_path: Path) -> None:
    content = copy_content(tmp_path)

    def drop_switch(data: dict[str, Any]) -> None:
        del find_position(data, "twist")["variants"]["desk"]["switch"]

    edit_data(content / STRETCHES_FILE, drop_switch)
    error = load_error(content)
    assert "twist" in str(error) and "needs a 'switch' text in its desk variant" in str(error)


def test_unknown_equipment(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    line = edit(content / STRETCHES_FILE, "- id: fh_introt", "kettlebell]", "kettlebel]")
    message = str(load_error(content))
    assert f"line {line}," in message and "position 'fh_introt'" in message
    assert "field 'variants.floor.equipment.item 4'" in message and "'kettlebel'" in message


def test_unknown_field_at_stretch_level(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    edit(content / STRETCHES_FILE, "- id: hip_flexor", "bonus: true", "bonnus: true")
    message = str(load_error(content))
    assert "stretch 'hip_flexor'" in message and "field 'bonnus'" in message
    assert "did you mean 'bonus'" in message


def test_wrong_types(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    edit_data(
        content / STRETCHES_FILE,
        lambda data: find_position(data, "fh_side").update(cues="Breathe"),
    )
    message = str(load_error(content))
    assert "position 'fh_side'" in message and "field 'cues'" in message and "list" in message


def test_instructions_too_long_to_read_during_a_hold(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    edit_data(
        content / STRETCHES_FILE,
        lambda data: find_position(data, "twist")["variants"]["floor"].update(
            instructions="Lie down. " * 40
        ),
    )
    message = str(load_error(content))
    assert "position 'twist'" in message and "field 'variants.floor.instructions'" in message
    assert "too long" in message and "300" in message


def test_missing_empty_and_shapeless_files(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    (content / "equipment.yaml").unlink()
    assert "equipment.yaml" in str(load_error(content)) and "missing" in str(load_error(content))
    (content / "equipment.yaml").write_text("")
    assert "equipment.yaml" in str(load_error(content))
    (content / "equipment.yaml").write_text("- band\n- mat\n")
    assert "'equipment:'" in str(load_error(content))
    assert "does not exist" in str(load_error(tmp_path / "nowhere"))


def test_an_invisible_control_character(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    line = edit(content / STRETCHES_FILE, "- id: twist", "Lying leg", "Lying\x1f leg")
    message = str(load_error(content))
    assert f"line {line}:" in message and "U+001F" in message


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_edit_loads_or_is_reported_cleanly(data: st.DataObject) -> None:
    """Whatever an editor does to a line, the result is a Program or a ContentError."""
    lines = (CONTENT_DIR / STRETCHES_FILE).read_text().splitlines(keepends=True)
    index = data.draw(st.integers(0, len(lines) - 1))
    action = data.draw(st.sampled_from(["delete", "duplicate", "indent", "replace"]))
    if action == "delete":
        del lines[index]
    elif action == "duplicate":
        lines.insert(index, lines[index])
    elif action == "indent":
        lines[index] = " " + lines[index]
    else:
        lines[index] = data.draw(st.text(max_size=40)) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        content = Path(tmp) / "content"
        shutil.copytree(CONTENT_DIR, content)
        (content / STRETCHES_FILE).write_text("".join(lines), encoding="utf-8")
        try:
            load_program(content)
        except ContentError as error:
            assert STRETCHES_FILE in str(error) and "\n" not in str(error)


def test_an_answer_easing_an_unknown_position_is_named(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    line = edit(content / "assessment.yaml", "- id: int_rot", "eases: [fh_introt]",
                "eases: [fh_inrot]")
    message = str(load_error(content))
    assert "assessment.yaml" in message and f"line {line}," in message
    assert "no position 'fh_inrot'" in message
