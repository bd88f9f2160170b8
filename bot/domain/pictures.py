"""The illustrations: one picture per position and place, and one per self-check test,
drawn from the pose data in content/pictures.yaml.

    pictures = load_pictures(program)          # checks the data; ContentError if wrong
    key = pictures.key_for("fh_9090", "band")  # "fh_9090.band"
    png = pictures.render(key)                 # PNG bytes, 800x600, same bytes for same data
    pictures.digest(key)                       # changes when the pose (or the renderer) does

Each picture is one figure with fixed body proportions, posed by joint angles (a knee bends
0 to 160 degrees, never backwards), placed in centimetres among props (floor, mat, chair,
desk, wall, kettlebell, towel, anchor). Forward kinematics turns the angles into 3D joint
positions; an orthographic camera (`view`) projects them. Loading also checks the body
against its props: every point a pose says `rests_on` a prop touches it (no floating, no
sinking), and nothing sinks through the floor.

World axes: x to the right of a side view, y up, z toward the viewer. A figure facing 0
looks to the right, so the viewer sees its right side; facing 180 looks left.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure
from matplotlib.patches import Circle, FancyArrowPatch, Polygon
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from bot.domain.chart import lock  # one lock for all matplotlib drawing: it is not thread-safe
from bot.domain.content import (
    CONTENT_DIR,
    PLACES,
    ContentError,
    Program,
    _error_at,
    _read,
    _Source,
    _validate,
)

PICTURES_FILE: Final = "pictures.yaml"
# Bump when the drawing changes, so every stored Telegram file_id is uploaded afresh.
RENDERER_VERSION: Final = "2"
WIDTH_PX, HEIGHT_PX, DPI = 800, 600, 100
# The closest a picture zooms in, in pixels per cm at 800 px wide: a small pose (sitting on
# the floor) is drawn at the size of the others, not blown up to fill the frame.
MAX_PX_PER_CM: Final = 3.5
TEST_PREFIX: Final = "test"
TOUCH_TOLERANCE: Final = 2.5  # cm: how far a resting point may float or sink

# Fixed body proportions (cm): every picture uses the same body.
THIGH, SHIN, FOOT = 44.0, 43.0, 17.0
UPPER_ARM, FOREARM, HAND = 29.0, 26.0, 5.0
PELVIS, SPINE, NECK, HEAD_CENTRE, HEAD_RADIUS = 12.0, 40.0, 6.0, 14.0, 10.0
HIP_HALF, SHOULDER_HALF, SHOULDER_DROP = 9.0, 16.0, 3.0
LENGTHS: Final = {"thigh": THIGH, "shin": SHIN, "foot": FOOT, "upper_arm": UPPER_ARM,
                  "forearm": FOREARM}
# Radius of each body point as drawn: a point "rests on" a prop when this far from it.
RADII: Final = {"hip": 7.5, "knee": 5.5, "heel": 4.0, "toe": 3.0, "shoulder": 10.0,
                "elbow": 4.2, "hand": 4.2, "head": HEAD_RADIUS, "back": 10.0,
                "pelvis": 10.0, "glute": 1.0, "groin": 1.0, "thigh_high": 1.0}
SIDES: Final = ("left", "right")
BAND_POINTS: Final = ("glute", "groin", "thigh_high")

# Palette: neutral figure and props, one warm highlight, a blue band (Okabe-Ito colours).
NEAR, TRUNK, FAR = "#3F4853", "#56606C", "#A4ADB7"
HIGHLIGHT, BAND, ARROW = "#D55E00", "#0072B2", "#1F1F1F"
PROP_COLOURS: Final = {"floor": "#CFC8BD", "mat": "#9DB8AE", "towel": "#E7D6AE",
                       "chair": "#B9AD9E", "desk": "#C8B291", "wall": "#E4E0DA",
                       "kettlebell": "#2F3338", "anchor": "#7F868E"}


# --- the data ---------------------------------------------------------------------------


def _bend(value: float) -> float:
    if value < 0:
        raise ValueError(f"bent the wrong way ({value:g} degrees): a knee or elbow bends one "
                         f"way only, from 0 (straight) to 160 (fully bent)")
    if value > 160:
        raise ValueError(f"bent further than a body can ({value:g} degrees, at most 160)")
    return value


def _within(low: float, high: float) -> AfterValidator:
    def check(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g} degrees (got {value:g})")
        return value

    return AfterValidator(check)


Bend = Annotated[float, AfterValidator(_bend)]
Vector = tuple[float, float, float]
PropKind = Literal["floor", "mat", "towel", "chair", "desk", "wall", "kettlebell", "anchor"]


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Pelvis(_Entry):
    at: Vector  # centre between the hip joints, cm
    facing: Annotated[float, _within(-180, 180)] = 0.0  # 0 right, 180 left, -90 the viewer
    lean: Annotated[float, _within(-100, 150)] = 0.0  # forward tilt (tailbone up); < 0 tuck
    roll: Annotated[float, _within(-90, 90)] = 0.0  # > 0 tips the body toward its right
    turn: Annotated[float, _within(-90, 90)] = 0.0  # about the body's long axis; > 0 right


class Spine(_Entry):
    bend: Annotated[float, _within(-30, 60)] = 0.0  # > 0 rounds forward, < 0 arches
    side: Annotated[float, _within(-50, 50)] = 0.0  # > 0 bends to the right
    twist: Annotated[float, _within(-70, 70)] = 0.0  # > 0 turns the chest right


class Head(_Entry):
    nod: Annotated[float, _within(-60, 80)] = 0.0
    turn: Annotated[float, _within(-80, 80)] = 0.0


class Hip(_Entry):
    flex: Annotated[float, _within(-40, 150)] = 0.0  # thigh forward
    out: Annotated[float, _within(-30, 100)] = 0.0  # thigh away from the midline
    rotate: Annotated[float, _within(-90, 90)] = 0.0  # internal rotation: foot swings out


class Shoulder(_Entry):
    flex: Annotated[float, _within(-60, 185)] = 0.0  # arm forward and up
    out: Annotated[float, _within(-30, 185)] = 0.0  # arm out to the side and up


class Body(_Entry):
    pelvis: Pelvis
    spine: Spine = Spine()
    head: Head = Head()
    left_hip: Hip = Hip()
    right_hip: Hip = Hip()
    left_knee: Bend = 0.0
    right_knee: Bend = 0.0
    left_ankle: Annotated[float, _within(-40, 110)] = 0.0  # > 0 points the toes
    right_ankle: Annotated[float, _within(-40, 110)] = 0.0
    left_shoulder: Shoulder = Shoulder()
    right_shoulder: Shoulder = Shoulder()
    left_elbow: Bend = 0.0
    right_elbow: Bend = 0.0


class Prop(_Entry):
    kind: PropKind
    at: Vector = (0.0, 0.0, 0.0)  # floor centre of the prop; the anchor's hook point
    size: Vector | None = None  # width (x), height (y), depth (z); a default per kind
    back: Literal["left", "right", "front", "back"] = "left"  # the chair back's side
    in_front: bool = False  # drawn over the figure (a kettlebell by the foot)


class Arrow(_Entry):
    at: str | Vector  # a body point ("right_knee") or a place (x, y, z)
    offset: Vector = (0.0, 0.0, 0.0)
    move: Vector  # direction and length of the movement, cm
    bend: Annotated[float, _within(-1, 1)] = 0.0  # curvature; 0 is straight


class View(_Entry):
    turn: Annotated[float, _within(-180, 180)] = 0.0  # camera around the vertical axis
    tilt: Annotated[float, _within(0, 90)] = 0.0  # looking down; 90 from straight above


class Picture(_Entry):
    id: str
    alt: Annotated[str, Field(min_length=1, max_length=200)]
    view: View = View()
    props: tuple[Prop, ...] = ()
    body: Body
    rests_on: dict[str, PropKind] = {}
    band: str | None = None  # the body point the band's loop sits on
    stretch: tuple[str, ...] = ()  # highlighted areas, e.g. left_hip_front, low_back
    arrows: tuple[Arrow, ...] = ()

    @model_validator(mode="after")
    def _names(self) -> Picture:
        kinds = {prop.kind for prop in self.props}
        for point, kind in self.rests_on.items():
            if point not in POINT_NAMES:
                raise _custom(f"rests_on names an unknown body point '{point}' ("
                              f"known: {', '.join(sorted(POINT_NAMES))})")
            if kind not in kinds:
                raise _custom(f"{point} rests on a {kind}, but there is no {kind} in props")
        if self.band is not None:
            if self.band not in [f"{s}_{p}" for s in SIDES for p in BAND_POINTS]:
                raise _custom(f"band must sit on one of left_/right_ {', '.join(BAND_POINTS)} "
                              f"(got '{self.band}')")
            if "anchor" not in kinds:
                raise _custom("a band needs an anchor in props")
        for area in self.stretch:
            side, _, name = area.partition("_")
            if area != "low_back" and (side not in SIDES or name not in AREAS):
                raise _custom(f"unknown stretch area '{area}' (known: low_back, and left_ or "
                              f"right_ with {', '.join(AREAS)})")
        for arrow in self.arrows:
            if isinstance(arrow.at, str) and arrow.at not in POINT_NAMES:
                raise _custom(f"an arrow starts at an unknown body point '{arrow.at}'")
        return self


def _custom(message: str) -> PydanticCustomError:
    return PydanticCustomError("picture", message)


class _PicturesFile(_Entry):
    pictures: tuple[Picture, ...] = Field(min_length=1)


# Where each highlighted area sits: the segment, from where to where along it (0 to 1),
# and which side of the segment (its own forward, right or back axis).
AREAS: Final = {"hip_front": ("thigh", -0.05, 0.45, "front"),
                "glute": ("thigh", -0.15, 0.3, "back"),
                "hamstring": ("thigh", 0.15, 0.95, "back"),
                "inner_thigh": ("thigh", 0.05, 0.75, "inner"),
                "hip": ("thigh", -0.1, 0.3, "centre"),
                "side": ("chest", 0.05, 0.95, "outer")}
POINT_NAMES: Final = frozenset(
    ["head", "neck", "pelvis", "back"]
    + [f"{s}_{p}" for s in SIDES for p in ("hip", "knee", "heel", "toe", "shoulder",
                                            "elbow", "hand", *BAND_POINTS)])


# --- the body in space --------------------------------------------------------------------


def _rx(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


DOWN, UP, FORWARD, RIGHT = (np.array(v, dtype=float) for v in
                            ((0, -1, 0), (0, 1, 0), (1, 0, 0), (0, 0, 1)))


@dataclass(frozen=True)
class Segment:
    """One drawn limb part: from a to b, radius ra at a and rb at b, its local frame."""

    name: str  # "left_thigh", "chest"...
    a: np.ndarray
    b: np.ndarray
    ra: float
    rb: float
    frame: np.ndarray  # columns: the segment's forward, up and right axes
    side: str  # "left", "right" or "" for the trunk


@dataclass(frozen=True)
class Posed:
    """A pose's joint positions (cm, world axes) and the segments to draw."""

    points: dict[str, np.ndarray]
    segments: tuple[Segment, ...]
    pelvis: np.ndarray  # orientation of the pelvis
    chest: np.ndarray  # orientation of the chest
    facing: np.ndarray  # the horizontal direction the figure faces

    def segment(self, name: str) -> Segment:
        return next(s for s in self.segments if s.name == name)

    def length(self, name: str) -> float:
        segment = self.segment(name)
        return float(np.linalg.norm(segment.b - segment.a))


def angle_between(u: np.ndarray, v: np.ndarray) -> float:
    cos = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def knee_angle(posed: Posed, side: str) -> float:
    """Knee bend as measured on a body: 0 straight, 90 a right angle (from positions)."""
    p = posed.points
    return angle_between(p[f"{side}_knee"] - p[f"{side}_hip"],
                         p[f"{side}_heel"] - p[f"{side}_knee"])


def pelvis_tilt(posed: Posed) -> float:
    """Forward tilt of the pelvis from upright, degrees: > 0 tailbone up, < 0 tucked under."""
    up = posed.pelvis @ UP
    return math.degrees(math.atan2(float(np.dot(up, posed.facing)), float(up[1])))


def pose(body: Body) -> Posed:
    """Forward kinematics: joint angles to joint positions, with fixed proportions."""
    centre = np.array(body.pelvis.at, dtype=float)
    rp = (_ry(body.pelvis.facing) @ _rz(-body.pelvis.lean) @ _rx(body.pelvis.roll)
          @ _ry(-body.pelvis.turn))
    lumbar = centre + rp @ UP * PELVIS
    rc = rp @ _rz(-body.spine.bend) @ _rx(body.spine.side) @ _ry(-body.spine.twist)
    neck = lumbar + rc @ UP * SPINE
    rh = rc @ _rz(-body.head.nod) @ _ry(-body.head.turn)
    head = neck + rh @ UP * HEAD_CENTRE
    points: dict[str, np.ndarray] = {"pelvis": centre, "back": (lumbar + neck) / 2,
                                     "neck": neck, "head": head}
    segments = [Segment("pelvis", centre, lumbar, 10.0, 10.5, rp, ""),
                Segment("chest", lumbar, neck, 10.5, 11.0, rc, ""),
                Segment("neck", neck, neck + rh @ UP * NECK, 4.5, 4.5, rh, "")]
    for sign, side in ((-1, "left"), (1, "right")):
        hip: Hip = getattr(body, f"{side}_hip")
        h = centre + rp @ RIGHT * HIP_HALF * sign
        rt = rp @ _rz(hip.flex) @ _rx(-sign * hip.out) @ _ry(sign * hip.rotate)
        knee = h + rt @ DOWN * THIGH
        rs = rt @ _rz(-getattr(body, f"{side}_knee"))
        heel = knee + rs @ DOWN * SHIN
        rf = rs @ _rz(-getattr(body, f"{side}_ankle"))
        toe = heel + rf @ FORWARD * FOOT
        shoulder_pose: Shoulder = getattr(body, f"{side}_shoulder")
        shoulder = neck + rc @ (RIGHT * SHOULDER_HALF * sign - UP * SHOULDER_DROP)
        ra = rc @ _rz(shoulder_pose.flex) @ _rx(-sign * shoulder_pose.out)
        elbow = shoulder + ra @ DOWN * UPPER_ARM
        rr = ra @ _rz(getattr(body, f"{side}_elbow"))
        wrist = elbow + rr @ DOWN * FOREARM
        points |= {f"{side}_hip": h, f"{side}_knee": knee, f"{side}_heel": heel,
                   f"{side}_toe": toe, f"{side}_shoulder": shoulder,
                   f"{side}_elbow": elbow, f"{side}_hand": wrist + rr @ DOWN * HAND,
                   # where a band's loop can sit, on the surface of the thigh
                   f"{side}_glute": h + rt @ (DOWN * 10 - FORWARD * 7),
                   f"{side}_groin": h + rt @ (DOWN * 7 - RIGHT * sign * 6),
                   f"{side}_thigh_high": h + rt @ (DOWN * 9 + FORWARD * 7)}
        segments += [Segment(f"{side}_thigh", h, knee, 7.5, 5.5, rt, side),
                     Segment(f"{side}_shin", knee, heel, 5.5, 4.0, rs, side),
                     Segment(f"{side}_foot", heel, toe, 4.0, 3.0, rf, side),
                     Segment(f"{side}_upper_arm", shoulder, elbow, 5.5, 4.2, ra, side),
                     Segment(f"{side}_forearm", elbow, wrist, 4.2, 3.6, rr, side),
                     # drawn, so a hand resting on a desk is seen touching it
                     Segment(f"{side}_hand", wrist, wrist + rr @ DOWN * HAND, 3.6, 4.0, rr,
                             side)]
    return Posed(points, tuple(segments), rp, rc, _ry(body.pelvis.facing) @ FORWARD)


# --- props as boxes -----------------------------------------------------------------------

DEFAULT_SIZES: Final[dict[str, Vector]] = {
    "mat": (180, 1.5, 60), "towel": (28, 3, 22), "chair": (44, 46, 44),
    "desk": (120, 74, 70), "wall": (4, 220, 160), "kettlebell": (20, 24, 20),
    "anchor": (6, 0, 6)}


def boxes(prop: Prop) -> list[tuple[np.ndarray, np.ndarray]]:
    """The solid parts of a prop as (min corner, max corner) boxes."""
    if prop.kind == "floor":
        return [(np.array([-1e4, -20.0, -1e4]), np.array([1e4, 0.0, 1e4]))]
    x, y, z = prop.at
    w, h, d = prop.size or DEFAULT_SIZES[prop.kind]
    if prop.kind == "anchor":  # an upright post (a rack, a table leg) from the floor up
        return [(np.array([x - 3, 0.0, z - 3]), np.array([x + 3, max(y + 25, 110.0), z + 3]))]
    if prop.kind == "kettlebell":
        return [(np.array([x - w / 2, y, z - d / 2]), np.array([x + w / 2, y + h * 0.7,
                                                               z + d / 2]))]
    if prop.kind == "desk":
        top = (np.array([x - w / 2, y + h - 4, z - d / 2]), np.array([x + w / 2, y + h,
                                                                     z + d / 2]))
        legs = [(np.array([lx - 2.5, y, lz - 2.5]), np.array([lx + 2.5, y + h - 4, lz + 2.5]))
                for lx in (x - w / 2 + 5, x + w / 2 - 5) for lz in (z - d / 2 + 5, z + d / 2 - 5)]
        return [top, *legs]
    if prop.kind == "chair":
        seat = (np.array([x - w / 2, y + h - 5, z - d / 2]), np.array([x + w / 2, y + h,
                                                                      z + d / 2]))
        legs = [(np.array([lx - 2, y, lz - 2]), np.array([lx + 2, y + h - 5, lz + 2]))
                for lx in (x - w / 2 + 3, x + w / 2 - 3) for lz in (z - d / 2 + 3, z + d / 2 - 3)]
        bx = {"left": (x - w / 2, x - w / 2 + 4), "right": (x + w / 2 - 4, x + w / 2)}
        bz = {"front": (z + d / 2 - 4, z + d / 2), "back": (z - d / 2, z - d / 2 + 4)}
        if prop.back in bx:
            lo, hi = bx[prop.back]
            back = (np.array([lo, y + h, z - d / 2]), np.array([hi, y + h + 42, z + d / 2]))
        else:
            lo, hi = bz[prop.back]
            back = (np.array([x - w / 2, y + h, lo]), np.array([x + w / 2, y + h + 42, hi]))
        return [seat, back, *legs]
    return [(np.array([x - w / 2, y, z - d / 2]), np.array([x + w / 2, y + h, z + d / 2]))]


def _box_distance(point: np.ndarray, box: tuple[np.ndarray, np.ndarray]) -> float:
    """Signed distance from a point to a box: < 0 inside."""
    low, high = box
    q = np.maximum(low - point, point - high)
    outside = float(np.linalg.norm(np.maximum(q, 0.0)))
    return outside + min(float(q.max()), 0.0)


def distance_to(point: np.ndarray, prop: Prop) -> float:
    return min(_box_distance(point, box) for box in boxes(prop))


def gap(posed: Posed, point: str, prop: Prop) -> float:
    """How far a body point's surface is from a prop: > 0 floating, < 0 sinking in."""
    return distance_to(posed.points[point], prop) - RADII[point.removeprefix(
        "left_").removeprefix("right_")]


def body_problems(picture: Picture) -> list[tuple[tuple[str | int, ...], str]]:
    """What is physically wrong with a pose, as (field, problem): resting points that
    float or sink, any part of the body below the floor."""
    posed = pose(picture.body)
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for point, kind in picture.rests_on.items():
        props = [p for p in picture.props if p.kind == kind]
        best = min((gap(posed, point, p) for p in props), key=abs)
        if abs(best) > TOUCH_TOLERANCE:
            where = "floats" if best > 0 else "sinks"
            problems.append((("rests_on", point), (
                f"{point.replace('_', ' ')} {where} {abs(best):.0f} cm "
                f"{'above' if best > 0 else 'into'} the {kind} it rests on")))
    for segment in posed.segments:
        for t in (0.0, 0.5, 1.0):
            p = segment.a + (segment.b - segment.a) * t
            r = segment.ra + (segment.rb - segment.ra) * t
            if p[1] - r < -TOUCH_TOLERANCE:
                problems.append((("body",), f"the {segment.name.replace('_', ' ')} goes "
                                 f"{r - p[1]:.0f} cm through the floor"))
                break
    if picture.band is not None:
        hook = next(p for p in picture.props if p.kind == "anchor").at
        if np.linalg.norm(np.array(hook) - posed.points[picture.band]) < 30:
            problems.append((("band",), "the band is shorter than 30 cm: it would not pull"))
    return problems


# --- the collection -----------------------------------------------------------------------


class Pictures:
    """Every picture, checked: one per position and place, one per self-check test."""

    def __init__(self, pictures: dict[str, Picture], source: Path) -> None:
        self._pictures = pictures
        self.source = source
        self._png: dict[str, bytes] = {}  # rendered once: the data is immutable
        self._digests = {key: hashlib.sha256(json.dumps(
            [RENDERER_VERSION, picture.model_dump(mode="json")], sort_keys=True
        ).encode()).hexdigest()[:16] for key, picture in pictures.items()}

    @staticmethod
    def key_for(position_id: str, place: str) -> str:
        return f"{position_id}.{place}"

    @staticmethod
    def key_for_test(question_id: str) -> str:
        return f"{TEST_PREFIX}.{question_id}"

    def keys(self) -> tuple[str, ...]:
        return tuple(self._pictures)

    def picture(self, key: str) -> Picture:
        return self._pictures[key]

    def posed(self, key: str) -> Posed:
        return pose(self._pictures[key].body)

    def digest(self, key: str) -> str:
        return self._digests[key]

    def alt(self, key: str) -> str:
        return self._pictures[key].alt

    def render(self, key: str) -> bytes:
        picture = self._pictures[key]
        with lock:
            if key in self._png:
                return self._png[key]
            figure = MplFigure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
            FigureCanvasAgg(figure)
            axes = figure.add_axes((0, 0, 1, 1))
            draw(axes, picture, WIDTH_PX, HEIGHT_PX)
            buffer = io.BytesIO()
            # No metadata: the same data gives the same bytes, whatever the matplotlib build.
            figure.savefig(buffer, format="png", metadata={"Software": None})
            figure.clear()
            self._png[key] = buffer.getvalue()
        return self._png[key]

    def contact_sheet(self, columns: int = 6) -> bytes:
        """Every picture in one labelled PNG, for reviewing them at a glance."""
        keys = self.keys()
        rows = -(-len(keys) // columns)
        cell_w, cell_h, label = 400, 300, 28
        with lock:
            figure = MplFigure(figsize=(columns * cell_w / DPI,
                                        rows * (cell_h + label) / DPI), dpi=DPI)
            FigureCanvasAgg(figure)
            total_h = rows * (cell_h + label)
            for index, key in enumerate(keys):
                row, column = divmod(index, columns)
                left = column * cell_w / (columns * cell_w)
                bottom = (total_h - (row + 1) * (cell_h + label)) / total_h
                axes = figure.add_axes((left, bottom, cell_w / (columns * cell_w),
                                        cell_h / total_h))
                draw(axes, self._pictures[key], cell_w, cell_h)
                axes.patch.set_edgecolor("#BBBBBB")
                figure.text(left + 0.5 / columns, bottom + (cell_h + label / 2) / total_h,
                            key, ha="center", va="center", fontsize=12, color="#222222")
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", metadata={"Software": None})
            figure.clear()
        return buffer.getvalue()


def expected_keys(program: Program) -> list[str]:
    keys = [Pictures.key_for(p.id, place) for _s, p in program.positions() for place in PLACES]
    return keys + [Pictures.key_for_test(q.id) for q in program.assessment.questions]


def load_pictures(program: Program, directory: Path | None = None) -> Pictures:
    """Read and check content/pictures.yaml against the programme; ContentError if wrong."""
    directory = CONTENT_DIR if directory is None else directory
    source = _read(directory / PICTURES_FILE)
    raw = source.data.get("pictures") if isinstance(source.data, dict) else None
    # `like: <id>` starts from another picture's data
    resolved = _source_with_likes(source, raw) if isinstance(raw, list) else source
    pictures = _validate(resolved, _PicturesFile).pictures
    expected = expected_keys(program)
    places = ", ".join(PLACES)
    seen: dict[str, int] = {}
    for index, picture in enumerate(pictures):
        loc: tuple[str | int, ...] = ("pictures", index)
        if picture.id in seen:
            raise _error_at(source, (*loc, "id"), f"the picture id '{picture.id}' is used twice")
        seen[picture.id] = index
        if picture.id not in expected:
            first, _, second = picture.id.partition(".")
            problem = (f"no self-check test '{second}'" if first == TEST_PREFIX else
                       f"unknown place '{second}' (places: {places})"
                       if second not in PLACES else f"unknown position '{first}'")
            raise _error_at(source, (*loc, "id"), f"{problem}: ids are <position>.<place> "
                            f"or {TEST_PREFIX}.<question>")
        for field, problem in body_problems(picture):
            raise _error_at(source, (*loc, *field), problem)
    missing = [key for key in expected if key not in seen]
    if missing:
        raise ContentError(source.path, f"no picture for {', '.join(missing)}: every position "
                           f"needs one per place ({places}) and every self-check test one")
    by_key = {picture.id: picture for picture in pictures}
    return Pictures({key: by_key[key] for key in expected}, source.path)


def _source_with_likes(source: _Source, raw: list[Any]) -> _Source:
    by_id = {entry.get("id"): entry for entry in raw if isinstance(entry, dict)}

    def resolve(entry: Any, index: int, depth: int = 0) -> Any:
        if not isinstance(entry, dict) or "like" not in entry:
            return entry
        base = by_id.get(entry["like"])
        if base is None or depth > 5:
            problem = ("names no other picture" if base is None else
                       "goes round in a circle of pictures 'like' each other")
            raise _error_at(source, ("pictures", index, "like"),
                            f"'like: {entry['like']}' {problem}")
        merged = _merge(resolve(base, index, depth + 1), entry)
        merged.pop("like", None)
        return merged

    data = {**source.data, "pictures": [resolve(e, i) for i, e in enumerate(raw)]}
    return _Source(source.path, data, source.root)


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = _merge(base.get(key), value) if key in base else value
        return out
    return override


# --- drawing ------------------------------------------------------------------------------


class _Camera:
    def __init__(self, view: View) -> None:
        self.matrix = _rx(view.tilt) @ _ry(-view.turn)

    def project(self, point: np.ndarray) -> tuple[float, float, float]:
        x, y, z = self.matrix @ point
        return float(x), float(y), float(z)

    def xy(self, point: np.ndarray) -> np.ndarray:
        return (self.matrix @ point)[:2]


def _capsule(axes: Axes, a: np.ndarray, b: np.ndarray, ra: float, rb: float,
             colour: str, zorder: float) -> None:
    axes.add_patch(Circle(tuple(a), ra, color=colour, zorder=zorder, lw=0))
    axes.add_patch(Circle(tuple(b), rb, color=colour, zorder=zorder, lw=0))
    direction = b - a
    length = float(np.linalg.norm(direction))
    if length > 1e-6:
        normal = np.array([-direction[1], direction[0]]) / length
        axes.add_patch(Polygon([a + normal * ra, b + normal * rb, b - normal * rb,
                                a - normal * ra], closed=True, color=colour,
                               zorder=zorder, lw=0))


def _face_shade(colour: str, normal: np.ndarray) -> tuple[float, float, float]:
    base = np.array([int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    light = 0.82 + 0.18 * max(0.0, float(normal[1])) - 0.08 * abs(float(normal[0]))
    r, g, b = np.clip(base * light, 0, 1)
    return float(r), float(g), float(b)


def _draw_box(axes: Axes, camera: _Camera, box: tuple[np.ndarray, np.ndarray],
              colour: str, zorder: float) -> None:
    low, high = box
    corners = [np.array([x, y, z]) for x in (low[0], high[0]) for y in (low[1], high[1])
               for z in (low[2], high[2])]
    faces = [(0, 1, 3, 2), (4, 5, 7, 6), (0, 1, 5, 4), (2, 3, 7, 6), (0, 2, 6, 4),
             (1, 3, 7, 5)]
    normals = [(-1, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1)]
    shown = []
    for face, normal in zip(faces, normals, strict=True):
        towards = camera.matrix @ np.array(normal, dtype=float)
        if towards[2] > 1e-6:
            shown.append((towards[2], face, normal))
    for _depth, face, normal in sorted(shown, key=lambda item: item[0]):
        axes.add_patch(Polygon([camera.xy(corners[i]) for i in face], closed=True,
                               facecolor=_face_shade(colour, np.array(normal)),
                               edgecolor="#6F6A63", lw=0.8, zorder=zorder,
                               joinstyle="round"))
    if not shown:  # seen exactly edge-on from above: draw its outline
        axes.add_patch(Polygon([camera.xy(corners[i]) for i in (0, 1, 5, 4)], closed=True,
                               facecolor=colour, edgecolor="#6F6A63", lw=0.8, zorder=zorder))


def _draw_prop(axes: Axes, camera: _Camera, prop: Prop, zorder: float) -> None:
    colour = PROP_COLOURS[prop.kind]
    if prop.kind == "kettlebell":
        x, y, z = prop.at
        centre = camera.xy(np.array([x, y + 9.0, z]))
        axes.add_patch(Circle(tuple(centre + [0, 9]), 6.5, fill=False, lw=3.2, color=colour,
                              zorder=zorder))
        axes.add_patch(Circle(tuple(centre), 9.5, color=colour, zorder=zorder + 0.1, lw=0))
        return
    for box in sorted(boxes(prop), key=lambda b: camera.project((b[0] + b[1]) / 2)[2]):
        _draw_box(axes, camera, box, colour, zorder)
    if prop.kind == "anchor":
        hook = camera.xy(np.array(prop.at, dtype=float))
        axes.add_patch(Circle(tuple(hook), 3.2, fill=False, lw=2.5, color="#3D4248",
                              zorder=zorder + 0.2))


def _side_offset(segment: Segment, which: str, camera: _Camera) -> tuple[np.ndarray, bool]:
    """A 2D offset toward one side of a segment (front, back, inner, outer), in cm, and
    whether that side faces the viewer."""
    right = segment.frame @ RIGHT * (1 if segment.side != "left" else -1)
    chest_right = segment.frame @ RIGHT
    direction = {"front": segment.frame @ FORWARD, "back": -(segment.frame @ FORWARD),
                 "inner": -right, "outer": chest_right, "centre": np.zeros(3)}[which]
    return camera.xy(direction) - camera.xy(np.zeros(3)), camera.project(direction)[2] > -0.5


def _bounds(picture: Picture, posed: Posed, camera: _Camera) -> tuple[np.ndarray, np.ndarray]:
    points = [camera.xy(p) for p in posed.points.values()]
    for prop in picture.props:
        if prop.kind == "floor":
            continue
        for low, high in boxes(prop):
            points += [camera.xy(np.array([x, y, z])) for x in (low[0], high[0])
                       for y in (low[1], high[1]) for z in (low[2], high[2])]
    for start, end in _arrow_ends(picture, posed):
        points += [camera.xy(start), camera.xy(end)]
    xy = np.array(points)
    low, high = xy.min(axis=0), xy.max(axis=0)
    margin = max(14.0, float((high - low).max()) * 0.1)
    return low - margin, high + margin


def _arrow_ends(picture: Picture, posed: Posed) -> list[tuple[np.ndarray, np.ndarray]]:
    ends = []
    for arrow in picture.arrows:
        start = (posed.points[arrow.at] if isinstance(arrow.at, str)
                 else np.array(arrow.at, dtype=float)) + np.array(arrow.offset)
        ends.append((start, start + np.array(arrow.move)))
    return ends


def draw(axes: Axes, picture: Picture, width_px: float, height_px: float) -> None:
    """Draw one picture into axes that cover width_px by height_px."""
    camera = _Camera(picture.view)
    posed = pose(picture.body)
    axes.set_axis_off()
    axes.set_facecolor("white")
    low, high = _bounds(picture, posed, camera)
    # Fit the scene with a margin, zooming in no closer than the cap.
    span = np.maximum(high - low, 1.0)
    scale = min(width_px / span[0] * 0.92, height_px / span[1] * 0.92,
                MAX_PX_PER_CM * width_px / WIDTH_PX)
    centre = (low + high) / 2
    half = np.array([width_px, height_px]) / scale / 2
    if picture.view.tilt <= 30 and any(p.kind == "floor" for p in picture.props):
        centre[1] = low[1] + half[1]  # spare height goes above the scene, not under the floor
    axes.set_xlim(centre[0] - half[0], centre[0] + half[0])
    axes.set_ylim(centre[1] - half[1], centre[1] + half[1])
    axes.set_aspect("equal")
    px_per_cm = scale

    zorder = 1.0
    floor = [p for p in picture.props if p.kind == "floor"]
    if floor:
        _draw_floor(axes, camera, picture, posed, centre, half)
    props = sorted((p for p in picture.props if p.kind != "floor"),
                   key=lambda p: camera.project(np.array(p.at, dtype=float))[2])
    for prop in props:
        if not prop.in_front:
            zorder += 1
            _draw_prop(axes, camera, prop, zorder)

    pelvis_depth = camera.project(posed.points["pelvis"])[2]
    items = []
    for segment in posed.segments:
        depth = (camera.project(segment.a)[2] + camera.project(segment.b)[2]) / 2
        if segment.side:
            hip_depth = camera.project(posed.points[f"{segment.side}_hip"])[2]
            colour = NEAR if hip_depth >= pelvis_depth - 1e-6 else FAR
            # A limb keeps its side's layer, so a far arm never cuts across the chest.
            layer = 1 if colour == NEAR else -1
        else:
            colour, layer = TRUNK, 0
        items.append((layer, depth, segment, colour))
    items.sort(key=lambda item: (item[0], item[1]))
    highlights = _highlights(picture)
    for _layer, _depth, segment, colour in items:
        zorder += 1
        a, b = camera.xy(segment.a), camera.xy(segment.b)
        _capsule(axes, a, b, segment.ra, segment.rb, colour, zorder)
        if segment.name == "neck":
            head = camera.xy(posed.points["head"])
            axes.add_patch(Circle(tuple(head), HEAD_RADIUS, color=TRUNK, zorder=zorder, lw=0))
        for start, end, which in highlights.get(segment.name, ()):
            direction, seen = _side_offset(segment, which, camera)
            offset = direction * segment.rb * 0.45
            ha, hb = a + (b - a) * start + offset, a + (b - a) * end + offset
            # A side turned away is drawn behind the limb: only its edge shows.
            _capsule(axes, ha, hb, segment.rb * 0.6, segment.rb * 0.55, HIGHLIGHT,
                     zorder + (0.5 if seen else -0.5))
        if picture.band and segment.name == picture.band.split("_")[0] + "_thigh":
            _draw_band(axes, camera, picture, posed, segment, px_per_cm, zorder + 0.6)
    for prop in props:
        if prop.in_front:
            zorder += 1
            _draw_prop(axes, camera, prop, zorder)
    for arrow, (tail, tip) in zip(picture.arrows, _arrow_ends(picture, posed), strict=True):
        axes.add_patch(FancyArrowPatch(
            tuple(camera.xy(tail)), tuple(camera.xy(tip)),
            connectionstyle=f"arc3,rad={arrow.bend}", arrowstyle="-|>",
            mutation_scale=px_per_cm * 9, lw=max(2.0, px_per_cm * 1.3), color=ARROW,
            zorder=zorder + 5, shrinkA=0, shrinkB=0))


def _highlights(picture: Picture) -> dict[str, list[tuple[float, float, str]]]:
    out: dict[str, list[tuple[float, float, str]]] = {}
    for area in picture.stretch:
        if area == "low_back":
            out.setdefault("pelvis", []).append((0.3, 1.0, "back"))
            out.setdefault("chest", []).append((0.0, 0.3, "back"))
            continue
        side, _, name = area.partition("_")
        segment, start, end, which = AREAS[name]
        if segment == "chest":
            out.setdefault("chest", []).append((start, end, which if side == "right"
                                                else "inner"))
        else:
            out.setdefault(f"{side}_{segment}", []).append((start, end, which))
    return out


def _draw_band(axes: Axes, camera: _Camera, picture: Picture, posed: Posed,
               thigh: Segment, px_per_cm: float, zorder: float) -> None:
    assert picture.band is not None
    hook = np.array(next(p for p in picture.props if p.kind == "anchor").at, dtype=float)
    at = posed.points[picture.band]
    # The loop: a ring around the thigh at that level, then both strands to the hook.
    along = (thigh.b - thigh.a) / np.linalg.norm(thigh.b - thigh.a)
    level = thigh.a + along * float(np.dot(at - thigh.a, along))
    across = camera.xy(thigh.frame @ FORWARD) - camera.xy(np.zeros(3))
    if np.linalg.norm(across) < 0.3:
        across = camera.xy(thigh.frame @ RIGHT) - camera.xy(np.zeros(3))
    across = across / max(float(np.linalg.norm(across)), 1e-6) * 7.2
    centre = camera.xy(level)
    width = max(2.0, px_per_cm * 1.6)
    axes.plot([centre[0] - across[0], centre[0] + across[0]],
              [centre[1] - across[1], centre[1] + across[1]], color=BAND, lw=width * 1.6,
              solid_capstyle="round", zorder=zorder)
    end = camera.xy(at)
    target = camera.xy(hook)
    axes.plot([end[0], target[0]], [end[1], target[1]], color=BAND, lw=width,
              solid_capstyle="round", zorder=zorder)


def _draw_floor(axes: Axes, camera: _Camera, picture: Picture, posed: Posed,
                centre: np.ndarray, half: np.ndarray) -> None:
    """The floor as a strip seen side-on, or as a patch around the scene seen from above."""
    top = camera.xy(np.zeros(3))[1]
    flat = abs(float((camera.matrix @ UP)[2])) < 0.05
    if flat:
        axes.add_patch(Polygon([(centre[0] - half[0] - 10, top), (centre[0] + half[0] + 10,
                                top), (centre[0] + half[0] + 10, top - 500),
                                (centre[0] - half[0] - 10, top - 500)],
                               closed=True, color="#EEEAE4", lw=0, zorder=0.5))
        axes.plot([centre[0] - half[0] - 10, centre[0] + half[0] + 10], [top, top],
                  color=PROP_COLOURS["floor"], lw=3, zorder=0.6)
        return
    xyz = [*posed.points.values()]
    for prop in picture.props:
        if prop.kind != "floor":
            xyz += [corner for box in boxes(prop) for corner in box]
    world = np.array(xyz)
    low, high = world.min(axis=0) - 35, world.max(axis=0) + 35
    corners = [np.array([x, 0.0, z]) for x, z in ((low[0], high[2]), (high[0], high[2]),
                                                   (high[0], low[2]), (low[0], low[2]))]
    axes.add_patch(Polygon([camera.xy(c) for c in corners], closed=True, facecolor="#EEEAE4",
                           edgecolor=PROP_COLOURS["floor"], lw=1.5, zorder=0.5,
                           joinstyle="round"))
