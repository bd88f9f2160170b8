"""The illustrations: one per position and place and per self-check test, each pose checked
against what its text says, the way a physio would look at the drawing."""

from __future__ import annotations

import math
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from bot.domain.content import CONTENT_DIR, PLACES, ContentError, Program, load_program
from bot.domain.pictures import (
    LENGTHS,
    PICTURES_FILE,
    RADII,
    Pictures,
    Posed,
    angle_between,
    gap,
    knee_angle,
    load_pictures,
    pelvis_tilt,
)
from bot.pictures import main as pictures_main


@pytest.fixture(scope="module")
def program() -> Program:
    return load_program()


@pytest.fixture(scope="module")
def pictures(program: Program) -> Pictures:
    return load_pictures(program)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# --- what the texts say, pose by pose ------------------------------------------------------
# kneel: the kneeling side's knee rests on the floor or mat; the other foot is flat.
# band: where the text puts the loop ("kneeling_glute": under the glute of the kneeling leg).
# anchor: where the anchor is from the figure ("ahead": it faces it, "behind", "beside").
# knees: degree range per knee ("both", or a side), as measured from joint positions.
# tilt: pelvis tilt range (> 0 tailbone up, < 0 tucked under).
# flat_back: the low back neither rounds nor arches by more than 12 degrees.
# all_fours: hips straight above the knees, shoulders above the hands.
# rests: body points that must rest on a prop, beyond those the data declares.
# touching: pairs of body points in contact (a hand on a knee, an ankle on a knee).

NINETY = (80.0, 100.0)
HALF_KNEEL_9090: dict[str, Any] = {"kneel": True, "knees": {"both": NINETY}}
SPLIT_STANCE: dict[str, Any] = {"back_heel_up": True, "hand_on": "desk"}
ALL_FOURS: dict[str, Any] = {"all_fours": True, "band": "thigh_high", "anchor": "behind",
                             "flat_back": True}
TAILBONE_UP: dict[str, Any] = {"tilt": (55.0, 150.0), "flat_back": True,
                               "hands_on": "floor", "band": "thigh_high", "anchor": "behind"}
SEATED: dict[str, Any] = {"sits_on_chair": True}

EXPECT: dict[str, dict[str, Any]] = {
    "fh_9090.band": {**HALF_KNEEL_9090, "band": "kneeling_glute", "anchor": "ahead"},
    "fh_9090.floor": {**HALF_KNEEL_9090, "band": "kneeling_glute", "anchor": "ahead",
                      "on_mat": True},
    "fh_9090.desk": {**SPLIT_STANCE, "tilt": (-30.0, -4.0)},
    "fh_side.band": {**HALF_KNEEL_9090, "band": "kneeling_glute", "anchor": "ahead",
                     "side_bend": "away_from_kneeling", "arm_up": "kneeling"},
    "fh_side.floor": {**HALF_KNEEL_9090, "band": "kneeling_glute", "anchor": "ahead",
                      "on_mat": True, "side_bend": "away_from_kneeling",
                      "arm_up": "kneeling"},
    "fh_side.desk": {**SPLIT_STANCE, "side_bend": "away_from_back_leg",
                     "arm_up": "back_leg"},
    "fh_introt.floor": {"kneel": True, "band": "kneeling_glute", "anchor": "ahead",
                        "on_mat": True, "foot_out": "kneeling",
                        "foot_against": ("kettlebell", "inside")},
    "fh_introt.band": {"kneel": True, "band": "kneeling_glute", "anchor": "ahead",
                       "foot_out": "kneeling", "foot_against": ("wall", "outside")},
    "fh_introt.desk": {**SEATED, "knees": {"both": NINETY}, "foot_out": "either"},
    "lat_dist.band": {"band": "groin", "anchor": "beside", "standing": True,
                      "knees": {"both": (5.0, 35.0)}},
    "lat_dist.floor": {"kneel": True, "band": "groin", "anchor": "beside", "on_mat": True,
                       "band_leg": "front"},
    "lat_dist.desk": {"hands_on": "desk", "standing": True, "one_knee_bent": True,
                      "wide_stance": True, "hips_over_bent_knee": True},
    "post_hip.band": ALL_FOURS,
    "post_hip.floor": {**ALL_FOURS, "on_mat": True},
    "post_hip.desk": {**SEATED, "touching": [("ankle_on_knee",), ("right_hand", "right_knee")],
                      "leans_forward": True},
    "twist.band": {"lying": True, "shoulders_down": True, "knees_fall": "left",
                   "chest_turns": "right", "crossed": "right_over_left", "arms_out": True},
    "twist.floor": {"lying": True, "shoulders_down": True, "knees_fall": "left",
                    "chest_turns": "right", "crossed": "right_over_left", "on_mat": True,
                    "arms_out": True},
    "twist.desk": {**SEATED, "chest_turns": "right", "crossed": "right_over_left",
                   "touching": [("left_hand", "right_knee")], "rests": {"right_hand": "chair"},
                   "both_sit_bones": True},
    "ham_fold.band": {**TAILBONE_UP, "one_knee_bent": True},
    "ham_fold.floor": {**TAILBONE_UP, "one_knee_bent": True, "on_mat": True},
    "ham_fold.desk": {"hands_on": "desk", "flat_back": True, "back_level": True,
                      "tilt": (55.0, 120.0), "one_knee_bent": True},
    "ham_stagger.band": {**TAILBONE_UP, "one_foot_forward": True},
    "ham_stagger.floor": {**TAILBONE_UP, "one_foot_forward": True, "on_mat": True},
    "ham_stagger.desk": {"hands_on": "desk", "flat_back": True, "tilt": (30.0, 100.0),
                         "one_foot_forward": True, "toes_up": True},
    "hf_static.band": {"kneel": True, "no_band": True, "hips_forward": True},
    "hf_static.floor": {"kneel": True, "no_band": True, "hips_forward": True,
                        "on_mat": True},
    "hf_static.desk": {**SPLIT_STANCE, "front_knee_bent": True, "hips_forward": True},
    "test.sit_90_90": {"knees": {"both": NINETY}, "rests": {"pelvis": "floor"},
                       "legs_on_floor": True},
    "test.knee_chest": {"lying": True, "head_and_tailbone_down": True,
                        "one_knee_to_chest": True},
    "test.int_rot": {**SEATED, "knees": {"both": NINETY}, "foot_out": "either"},
}


def _kneeling_side(pictures: Pictures, key: str) -> str:
    rests = pictures.picture(key).rests_on
    sides = [side for side in ("left", "right")
             if rests.get(f"{side}_knee") in ("floor", "mat", "towel")]
    assert len(sides) == 1, f"{key}: exactly one knee rests on the floor, got {sides}"
    return sides[0]


def _other(side: str) -> str:
    return "left" if side == "right" else "right"


def _ahead(posed: Posed) -> np.ndarray:
    return posed.facing


def _touching(posed: Posed, a: str, b: str, slack: float = 4.0) -> bool:
    radius = sum(RADII[p.removeprefix("left_").removeprefix("right_")] for p in (a, b))
    return float(np.linalg.norm(posed.points[a] - posed.points[b])) <= radius + slack


def _rests(pictures: Pictures, key: str, point: str, kind: str) -> None:
    picture = pictures.picture(key)
    posed = pictures.posed(key)
    gaps = [gap(posed, point, prop) for prop in picture.props if prop.kind == kind]
    assert gaps, f"{key}: no {kind} for the {point} to rest on"
    best = min(gaps, key=abs)
    assert abs(best) <= 2.5, f"{key}: {point} is {best:+.1f} cm off the {kind}"


def _back_leg(posed: Posed) -> str:
    # The back leg is the one whose foot is further behind, along the way the body faces.
    ahead = _ahead(posed)
    return min(("left", "right"), key=lambda s: float(np.dot(posed.points[f"{s}_heel"], ahead)))


def _side_bend_toward(posed: Posed) -> str:
    """Which side of the body the head has moved toward, relative to the pelvis."""
    right = posed.pelvis @ np.array([0.0, 0.0, 1.0])
    lean = float(np.dot(posed.points["neck"] - posed.points["pelvis"], right))
    return "right" if lean > 0 else "left"


def _foot_out(posed: Posed, side: str) -> float:
    """How far a foot sits out from its knee, away from the body's midline (cm)."""
    right = posed.pelvis @ np.array([0.0, 0.0, 1.0]) * (1 if side == "right" else -1)
    return float(np.dot(posed.points[f"{side}_heel"] - posed.points[f"{side}_knee"], right))


@pytest.mark.parametrize("key", sorted(EXPECT))
def test_pose_matches_its_text(pictures: Pictures, key: str) -> None:
    expect = EXPECT[key]
    picture = pictures.picture(key)
    posed = pictures.posed(key)
    points = posed.points
    kinds = {prop.kind for prop in picture.props}

    # Fixed proportions: the same limb lengths in every picture, on both sides.
    for side in ("left", "right"):
        for limb, length in LENGTHS.items():
            assert posed.length(f"{side}_{limb}") == pytest.approx(length, abs=1e-6), key
    # Declared contacts hold (loading checks them too; this is the anatomy read of it).
    for point, kind in picture.rests_on.items():
        _rests(pictures, key, point, kind)
    for point, kind in expect.get("rests", {}).items():
        _rests(pictures, key, point, kind)
    if expect.get("on_mat"):
        assert "mat" in kinds and "mat" in picture.rests_on.values(), key
    for which, (low, high) in expect.get("knees", {}).items():
        for side in ("left", "right") if which == "both" else (which,):
            assert low <= knee_angle(posed, side) <= high, (key, side, knee_angle(posed, side))
    if "tilt" in expect:
        low, high = expect["tilt"]
        assert low <= pelvis_tilt(posed) <= high, (key, pelvis_tilt(posed))
    if expect.get("flat_back"):
        bend = angle_between(posed.pelvis @ np.array([0.0, 1.0, 0.0]),
                             posed.chest @ np.array([0.0, 1.0, 0.0]))
        assert bend <= 12, f"{key}: the low back bends {bend:.0f} degrees, not flat"

    kneeling = _kneeling_side(pictures, key) if expect.get("kneel") else None
    if kneeling:
        front = _other(kneeling)
        # The other foot stands flat in front: heel and toe on the floor or mat.
        for end in ("heel", "toe"):
            assert picture.rests_on.get(f"{front}_{end}") in ("floor", "mat"), (key, end)
        assert float(np.dot(points[f"{front}_heel"] - points[f"{kneeling}_knee"],
                            _ahead(posed))) > 20, f"{key}: the front foot is not in front"
    if "band" in expect:
        wanted = expect["band"]
        if wanted == "kneeling_glute":
            assert kneeling is not None
            wanted = f"{kneeling}_glute"
        assert picture.band is not None and picture.band.endswith(wanted), (key, picture.band)
        anchor = next(p for p in picture.props if p.kind == "anchor")
        pull = np.array(anchor.at) - points[picture.band]
        pull[1] = 0
        along = float(np.dot(pull / np.linalg.norm(pull), _ahead(posed)))
        where = {"ahead": along > 0.8, "behind": along < -0.8, "beside": abs(along) < 0.5}
        assert where[expect["anchor"]], f"{key}: the anchor is not {expect['anchor']} ({along})"
    if expect.get("band_leg") == "front":
        assert kneeling is not None and picture.band == f"{_other(kneeling)}_groin", key
    if expect.get("no_band"):
        assert picture.band is None and "anchor" not in kinds, key

    if expect.get("back_heel_up"):
        back = _back_leg(posed)
        assert picture.rests_on.get(f"{back}_toe") == "floor", key
        assert f"{back}_heel" not in picture.rests_on
        assert gap(posed, f"{back}_heel", picture.props[0]) > 5, f"{key}: back heel is down"
        front = _other(back)
        assert picture.rests_on.get(f"{front}_heel") == "floor", key
    if "hand_on" in expect or "hands_on" in expect:
        kind = expect.get("hand_on") or expect["hands_on"]
        surfaces = ("floor", "mat") if kind == "floor" else (kind,)
        on = [s for s in ("left", "right") if picture.rests_on.get(f"{s}_hand") in surfaces]
        assert len(on) >= (2 if "hands_on" in expect else 1), f"{key}: hands not on {kind}"
    if "side_bend" in expect:
        rule = expect["side_bend"]
        reference = kneeling if rule == "away_from_kneeling" else _back_leg(posed)
        assert reference is not None
        assert _side_bend_toward(posed) == _other(reference), f"{key}: bends the wrong way"
        arm = reference
        up = points[f"{arm}_hand"][1] > points["head"][1]
        assert up, f"{key}: the {arm} arm is not over the head"
    if "foot_out" in expect:
        sides = [kneeling] if expect["foot_out"] == "kneeling" else ["left", "right"]
        out = max(_foot_out(posed, s) for s in sides if s)
        assert out > 12, f"{key}: no foot swung out away from the midline ({out:.0f} cm)"
    if "foot_against" in expect:
        # A foot swung out meets a wall with its outer edge; a kettlebell set against
        # its inside keeps it from coming back.
        assert kneeling is not None
        kind, edge = expect["foot_against"]
        ends = [e for e in ("heel", "toe") if picture.rests_on.get(f"{kneeling}_{e}") == kind]
        assert ends, f"{key}: the {kneeling} foot does not rest against the {kind}"
        for end in ends:
            _rests(pictures, key, f"{kneeling}_{end}", kind)
        prop = next(p for p in picture.props if p.kind == kind)
        outward = posed.pelvis @ np.array([0.0, 0.0, 1.0]) * (1 if kneeling == "right" else -1)
        beyond = float(np.dot(np.array(prop.at) - points[f"{kneeling}_{ends[0]}"], outward))
        assert (beyond > 0) == (edge == "outside"), f"{key}: the {kind} is not on the {edge}"
    if expect.get("sits_on_chair"):
        assert "chair" in kinds, key
        assert any(picture.rests_on.get(f"{s}_hip") == "chair" for s in ("left", "right")), key
    if expect.get("both_sit_bones"):
        for side in ("left", "right"):
            _rests(pictures, key, f"{side}_hip", "chair")
    for pair in expect.get("touching", ()):
        if pair == ("ankle_on_knee",):
            assert any(_touching(posed, f"{s}_heel", f"{_other(s)}_knee", 6)
                       for s in ("left", "right")), f"{key}: no ankle rests on a knee"
        else:
            assert _touching(posed, *pair), f"{key}: {pair[0]} does not touch {pair[1]}"
    if expect.get("leans_forward"):
        assert pelvis_tilt(posed) >= 15, f"{key}: no lean from the hips"
    if expect.get("standing"):
        for side in ("left", "right"):
            assert picture.rests_on.get(f"{side}_heel") == "floor", key
    if expect.get("wide_stance"):
        assert abs(points["left_heel"][2] - points["right_heel"][2]) > 60 or abs(
            points["left_heel"][0] - points["right_heel"][0]) > 60, key
    if expect.get("one_knee_bent"):
        angles = sorted(knee_angle(posed, s) for s in ("left", "right"))
        assert angles[0] <= 10 and angles[1] >= 25, f"{key}: knees {angles}"
    if expect.get("hips_over_bent_knee"):
        # The hips shift toward the bent knee; the straight leg's inner thigh stretches.
        bent, straight = sorted(("left", "right"), key=lambda s: -knee_angle(posed, s))
        across = posed.pelvis @ np.array([0.0, 0.0, 1.0])
        to_bent, to_straight = (abs(float(np.dot(points[f"{s}_heel"] - points["pelvis"],
                                                 across))) for s in (bent, straight))
        assert to_bent < to_straight - 20, f"{key}: hips not shifted toward the bent knee"
        assert f"{straight}_inner_thigh" in picture.stretch, key
    if expect.get("front_knee_bent"):
        assert knee_angle(posed, _other(_back_leg(posed))) >= 30, key
    if expect.get("all_fours"):
        for side in ("left", "right"):
            hip, knee = points[f"{side}_hip"], points[f"{side}_knee"]
            assert hip[1] - knee[1] > 35, f"{key}: {side} hip not above the knee"
            assert np.hypot(*(hip - knee)[[0, 2]]) < 12, f"{key}: {side} hip not over the knee"
            assert picture.rests_on.get(f"{side}_knee") in ("floor", "mat"), key
            assert picture.rests_on.get(f"{side}_hand") in ("floor", "mat"), key
            shoulder, hand = points[f"{side}_shoulder"], points[f"{side}_hand"]
            assert np.hypot(*(shoulder - hand)[[0, 2]]) < 15, f"{key}: hand not under shoulder"
    if expect.get("back_level"):
        spine = points["neck"] - points["pelvis"]
        assert abs(math.degrees(math.atan2(spine[1], np.hypot(spine[0], spine[2])))) < 15, key
    if expect.get("one_foot_forward"):
        ahead = _ahead(posed)
        heels = sorted(float(np.dot(points[f"{s}_heel"], ahead)) for s in ("left", "right"))
        assert heels[1] - heels[0] > 15, f"{key}: neither foot is forward"
    if expect.get("toes_up"):
        front = max(("left", "right"), key=lambda s: float(np.dot(points[f"{s}_heel"],
                                                                 _ahead(posed))))
        assert points[f"{front}_toe"][1] > points[f"{front}_heel"][1] + 4, key
    if expect.get("hips_forward"):
        back = _kneeling_side(pictures, key) if expect.get("kneel") else _back_leg(posed)
        thigh = points[f"{back}_knee"] - points[f"{back}_hip"]
        # The back thigh slopes back from the hip: the hip has moved in front of the knee.
        assert float(np.dot(thigh, _ahead(posed))) < -5, f"{key}: hips are not forward"
    if expect.get("lying"):
        assert abs(pelvis_tilt(posed)) >= 70, f"{key}: not lying on the back"
        _rests(pictures, key, "head", "mat" if "mat" in kinds else "floor")
    if expect.get("shoulders_down") or expect.get("head_and_tailbone_down"):
        surface = "mat" if "mat" in kinds else "floor"
        points_down = (("left_shoulder", "right_shoulder") if expect.get("shoulders_down")
                       else ("head", "pelvis"))
        for point in points_down:
            _rests(pictures, key, point, surface)
    if "knees_fall" in expect:
        # The body's own left, taken from the chest, which stays flat on the floor.
        left = posed.chest @ np.array([0.0, 0.0, -1.0])
        knees = (points["left_knee"] + points["right_knee"]) / 2 - points["pelvis"]
        sign = 1 if expect["knees_fall"] == "left" else -1
        assert float(np.dot(knees, left)) * sign > 15, f"{key}: the knees do not fall that way"
    if "chest_turns" in expect:
        sign = 1 if expect["chest_turns"] == "right" else -1
        chest_right = posed.chest @ np.array([0.0, 0.0, 1.0])
        pelvis_right = posed.pelvis @ np.array([0.0, 0.0, 1.0])
        turn = float(np.dot(np.cross(pelvis_right, chest_right), posed.chest @ np.array(
            [0.0, 1.0, 0.0])))
        assert turn * sign < -0.2, f"{key}: the chest does not turn {expect['chest_turns']}"
    if expect.get("arms_out"):
        # Arms out to the sides in a T, on the floor; the head turns with the chest, away
        # from the knees.
        across = posed.chest @ np.array([0.0, 0.0, 1.0])
        for side, sign in (("left", -1), ("right", 1)):
            reach = points[f"{side}_hand"] - points[f"{side}_shoulder"]
            assert float(np.dot(reach, across)) * sign > 45, f"{key}: {side} arm not out"
            assert picture.rests_on.get(f"{side}_hand") in ("floor", "mat"), key
        sign = 1 if expect["chest_turns"] == "right" else -1
        assert picture.body.head.turn * sign >= 30, f"{key}: the head does not turn"
    if expect.get("crossed") == "right_over_left":
        # The right thigh crosses toward the left of the body's midline.
        left = posed.pelvis @ np.array([0.0, 0.0, -1.0])
        assert float(np.dot(points["right_knee"] - points["pelvis"], left)) > -2, key
    if expect.get("one_knee_to_chest"):
        bent = [s for s in ("left", "right") if knee_angle(posed, s) > 60]
        assert len(bent) == 1, key
        assert _touching(posed, f"{bent[0]}_hand", f"{bent[0]}_knee", 8) or _touching(
            posed, f"{_other(bent[0])}_hand", f"{bent[0]}_knee", 8), f"{key}: hands off knee"
        straight = _other(bent[0])
        for end in ("heel",):
            _rests(pictures, key, f"{straight}_{end}", "mat" if "mat" in kinds else "floor")
    if expect.get("legs_on_floor"):
        for side in ("left", "right"):
            _rests(pictures, key, f"{side}_knee", "floor")


# --- completeness, the broken pose, the sheet, the digest -------------------------------


def test_every_position_place_and_test_has_a_picture(program: Program,
                                                    pictures: Pictures) -> None:
    expected = {f"{p.id}.{place}" for _s, p in program.positions() for place in PLACES}
    expected |= {f"test.{q.id}" for q in program.assessment.questions}
    assert set(pictures.keys()) == expected
    assert len(expected) == 30
    assert set(EXPECT) == expected  # every pose is checked against its text
    keys = pictures.keys()
    for _s, position in program.positions():
        for place in PLACES:
            assert pictures.key_for(position.id, place) in keys
    for question in program.assessment.questions:
        assert pictures.key_for_test(question.id) in keys


def _copy_content(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    return content


def _edit(content: Path, key: str, change: dict[str, Any]) -> None:
    """Rewrite one picture's body in a copy of the data."""
    path = content / PICTURES_FILE
    data = yaml.safe_load(path.read_text())
    entry = next(e for e in data["pictures"] if e["id"] == key)
    entry["body"] = {**entry.get("body", {}), **change}
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_a_missing_picture_fails_to_load(tmp_path: Path, program: Program) -> None:
    content = _copy_content(tmp_path)
    path = content / PICTURES_FILE
    data = yaml.safe_load(path.read_text())
    data["pictures"] = [e for e in data["pictures"] if e["id"] != "lat_dist.desk"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ContentError, match=r"no picture for lat_dist\.desk") as caught:
        load_pictures(program, content)
    assert caught.value.file == path


def test_a_knee_bent_the_wrong_way_names_the_file_and_pose(tmp_path: Path,
                                                          program: Program) -> None:
    content = _copy_content(tmp_path)
    _edit(content, "fh_9090.band", {"left_knee": -40})
    with pytest.raises(ContentError) as caught:
        load_pictures(program, content)
    message = str(caught.value)
    assert str(content / PICTURES_FILE) in message
    assert "picture 'fh_9090.band'" in message and "left_knee" in message
    assert "bent the wrong way" in message and caught.value.line is not None
    line = (content / PICTURES_FILE).read_text().splitlines()[caught.value.line - 1]
    assert "left_knee" in line


def test_a_floating_knee_is_caught(tmp_path: Path, program: Program) -> None:
    content = _copy_content(tmp_path)
    _edit(content, "post_hip.band", {"pelvis": {"at": [0, 70, 0], "lean": 80}})
    with pytest.raises(ContentError, match=r"picture 'post_hip\.band'.*(floats|sinks)"):
        load_pictures(program, content)


@pytest.mark.parametrize(("change", "words"), [
    ({"id": "fh_9090.gym"}, "unknown place 'gym'"),
    ({"id": "pigeon.band"}, "unknown position 'pigeon'"),
    ({"props": [{"kind": "trampoline"}]}, "props.item 1.kind"),
])
def test_unknown_names_are_reported(tmp_path: Path, program: Program,
                                    change: dict[str, Any], words: str) -> None:
    content = _copy_content(tmp_path)
    path = content / PICTURES_FILE
    data = yaml.safe_load(path.read_text())
    data["pictures"][-1].update(change)  # the last one: no other picture is 'like' it
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ContentError, match=words.replace(".", r"\.")):
        load_pictures(program, content)


def test_pictures_render_as_small_phone_sized_pngs(pictures: Pictures,
                                                   program: Program) -> None:
    keys = pictures.keys()
    for key in keys:
        png = pictures.render(key)
        assert _png_size(png) == (800, 600), key
        assert len(png) < 80_000, (key, len(png))
        assert pictures.alt(key)
    # Deterministic: a fresh load draws the same bytes, so a stored file_id stays right.
    assert load_pictures(program).render(keys[0]) == pictures.render(keys[0])


def test_digest_changes_when_a_pose_does(tmp_path: Path, program: Program,
                                         pictures: Pictures) -> None:
    content = _copy_content(tmp_path)
    _edit(content, "fh_9090.band", {"left_elbow": 40})
    edited = load_pictures(program, content)
    assert edited.digest("fh_9090.band") != pictures.digest("fh_9090.band")
    # A picture drawn 'like' the edited one changes with it; the others do not.
    assert edited.digest("fh_9090.floor") != pictures.digest("fh_9090.floor")
    assert edited.digest("lat_dist.band") == pictures.digest("lat_dist.band")
    assert edited.render("fh_9090.band") != pictures.render("fh_9090.band")
    keys = pictures.keys()
    assert len({pictures.digest(k) for k in keys}) == len(keys)


def test_contact_sheet_has_every_picture_labelled(tmp_path: Path, pictures: Pictures,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    sheet = tmp_path / "sheet.png"
    assert pictures_main(["--sheet", str(sheet)]) == 0
    width, height = _png_size(sheet.read_bytes())
    # 6 columns of 400 px, 5 rows of 300 px pictures under a 28 px label: 30 cells.
    assert (width, height) == (6 * 400, 5 * (300 + 28))
    assert "30 pictures" in capsys.readouterr().out


def test_sheet_command_reports_a_broken_pose(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    content = _copy_content(tmp_path)
    _edit(content, "twist.band", {"right_elbow": -10})
    assert pictures_main(["--content", str(content), "--sheet", str(tmp_path / "s.png")]) == 1
    assert "picture 'twist.band'" in capsys.readouterr().err
    assert not (tmp_path / "s.png").exists()


def test_start_up_check_reports_a_broken_pose(tmp_path: Path) -> None:
    from bot import check

    assert check._pictures(CONTENT_DIR).startswith("30 drawn from pictures.yaml")
    content = _copy_content(tmp_path)
    _edit(content, "hf_static.band", {"right_knee": -20})
    with pytest.raises(check.Failed, match=r"pictures\.yaml, line \d+, picture "
                       r"'hf_static\.band', field 'body\.right_knee': bent the wrong way"):
        check._pictures(content)


def test_like_must_name_another_picture(tmp_path: Path, program: Program) -> None:
    content = _copy_content(tmp_path)
    path = content / PICTURES_FILE
    path.write_text(path.read_text().replace("like: fh_9090.band", "like: fh_9090.bnad", 1))
    with pytest.raises(ContentError, match=r"picture 'fh_9090\.floor', field 'like': "
                       r"'like: fh_9090\.bnad' names no other picture"):
        load_pictures(program, content)
