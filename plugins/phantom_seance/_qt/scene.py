"""The shadow realm: a vispy scene that breathes with the room's sound.

Ectoplasm (a cloud of glowing motes) swirls around a glowing orb ringed by the spectrum;
louder sound makes it surge and glow, each band of the spectrum lifts and lights the motes
in its sector of the ring. A haunt that manifests rises as a translucent figure in its
personality's colour, fading in and out. The realm turns slowly before a turntable camera
(which the user may drag); it turns in the per-frame numpy update, where moving vispy's
camera each frame would cost more than the motes' own update. `show_frame` is called
from the app's frame clock; when frames come slowly the realm draws fewer motes.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtGui import QGuiApplication, QOffscreenSurface, QOpenGLContext
from PySide6.QtWidgets import QVBoxLayout, QWidget

from phantom_seance._qt.scene_style import (
    APPARITION_COLOURS,
    DREAD,
    MIST,
    ORB_CORE,
    TEXT,
    backdrop,
    band_colours,
)
from phantom_seance.frame import Apparition, Personality, SceneFrame

RING_BANDS = 48
MAX_PARTICLES = 10_000
MIN_PARTICLES = 1_500
MOTE_SOFTNESS = 1.0
ORB_SOFTNESS = 10.0
FIGURE_POINTS = 1400
ORBIT_DEG_PER_S = 4.0
QUIET_DBFS = -66.0
LOUD_DBFS = -6.0
PAUSE_S = 1.0
FADE_IN_S = 0.8
FADE_OUT_S = 1.5
FPS_FRAMES = 30
WITHOUT_GL_WIDGETS = ("offscreen", "minimal")
GL_VERSION = 0x1F02


class SceneUnavailable(RuntimeError):
    """The shadow realm cannot be drawn here (no OpenGL, no vispy); the message says why."""


def loudness(dbfs: np.ndarray | float) -> np.ndarray:
    """A level in dBFS as 0 (silence) to 1 (as loud as the realm shows)."""
    level = np.asarray(dbfs, dtype=np.float32)
    level = np.where(np.isnan(level), np.float32(-np.inf), level)
    return np.clip((level - QUIET_DBFS) / (LOUD_DBFS - QUIET_DBFS), 0.0, 1.0)


def ring_energies(spectrum: np.ndarray, bands: int = RING_BANDS) -> np.ndarray:
    """A spectrum of any length resampled to the ring's bands, each as loudness in [0, 1]."""
    if spectrum.size == 0:
        return np.zeros(bands, dtype=np.float32)
    values = loudness(spectrum)
    if values.size == 1:
        return np.full(bands, values[0], dtype=np.float32)
    where = np.linspace(0.0, values.size - 1, bands)
    return np.interp(where, np.arange(values.size), values).astype(np.float32)


@dataclass
class ParticleBudget:
    """How many motes to draw: fewer while frames come slower than `min_fps`, more again
    (slowly) once they come comfortably faster. Decides at most once per `settle_s`; a gap
    longer than `PAUSE_S` is a pause (the realm was hidden), not a slow frame."""

    capacity: int = MAX_PARTICLES
    floor: int = MIN_PARTICLES
    min_fps: float = 24.0
    settle_s: float = 1.0
    count: int = field(init=False)
    _interval_s: float | None = field(init=False, default=None)
    _last_frame: float | None = field(init=False, default=None)
    _last_change: float = field(init=False, default=-math.inf)

    def __post_init__(self) -> None:
        self.count = self.capacity

    def frame_at(self, now: float) -> int:
        """Note a frame shown at `now` (seconds) and return the motes to draw."""
        if self._last_frame is not None and now > self._last_frame:
            interval = now - self._last_frame
            if interval > PAUSE_S:
                self._interval_s = None
            elif self._interval_s is None:
                self._interval_s = interval
            else:
                self._interval_s = 0.8 * self._interval_s + 0.2 * interval
        self._last_frame = now
        if self._interval_s is None or now - self._last_change < self.settle_s:
            return self.count
        slowest = 1.0 / self.min_fps
        if self._interval_s > slowest and self.count > self.floor:
            self.count = max(self.floor, int(self.count * 0.75))
            self._last_change = now
        elif self._interval_s < 0.85 * slowest and self.count < self.capacity:
            self.count = min(self.capacity, int(self.count * 1.1) + 1)
            self._last_change = now
        return self.count


def _check_opengl() -> None:
    """Raise `SceneUnavailable` unless this display gives an OpenGL 2.1+ context."""
    platform = QGuiApplication.platformName()
    if platform in WITHOUT_GL_WIDGETS:
        raise SceneUnavailable(
            f"the shadow realm needs OpenGL on a screen, and Qt's {platform!r} platform "
            "draws widgets without it"
        )
    context = QOpenGLContext()
    if not context.create():
        raise SceneUnavailable(
            "the shadow realm needs OpenGL, and this display offers none "
            "(a headless or remote session without GL?)"
        )
    surface = QOffscreenSurface()
    surface.setFormat(context.format())
    surface.create()
    try:
        if not context.makeCurrent(surface):
            raise SceneUnavailable("the shadow realm could not start an OpenGL context here")
        version = context.functions().glGetString(GL_VERSION) or ""
        context.doneCurrent()
    finally:
        surface.destroy()
    major_minor = version.split(" ")[0].split(".")[:2]
    if len(major_minor) < 2 or not all(part.isdigit() for part in major_minor):
        return
    if (int(major_minor[0]), int(major_minor[1])) < (2, 1):
        raise SceneUnavailable(f"the shadow realm needs OpenGL 2.1 or later; this has {version}")


def _vispy_scene():  # type: ignore[no-untyped-def]
    try:
        import vispy
        from vispy import scene

        vispy.use("pyside6")
    except (ImportError, RuntimeError) as error:
        raise SceneUnavailable(f"the shadow realm needs vispy with PySide6: {error}") from error
    return scene


class Ectoplasm:
    """The motes: base positions in cylindrical coordinates, moved in numpy each frame."""

    def __init__(self, capacity: int, rng: np.random.Generator) -> None:
        self.rng = rng
        self.theta = rng.uniform(0.0, 2 * np.pi, capacity).astype(np.float32)
        self.radius = self._radii(capacity)
        self.height = rng.uniform(-1.0, 1.6, capacity).astype(np.float32)
        self.phase = rng.uniform(0.0, 2 * np.pi, capacity).astype(np.float32)
        self.lift = rng.uniform(0.3, 1.0, capacity).astype(np.float32)
        self.speed = rng.uniform(0.5, 1.5, capacity).astype(np.float32)
        self.grain = rng.uniform(0.6, 1.4, capacity).astype(np.float32)
        self.colours = band_colours(RING_BANDS)
        self.pos = np.zeros((capacity, 3), dtype=np.float32)
        self.rgba = np.zeros((capacity, 4), dtype=np.float32)
        self.size = np.zeros(capacity, dtype=np.float32)

    def _radii(self, count: int) -> np.ndarray:
        return (0.35 + 1.9 * np.sqrt(self.rng.uniform(0.0, 1.0, count))).astype(np.float32)

    def step(
        self,
        count: int,
        dt: float,
        t: float,
        surge: float,
        energies: np.ndarray,
        atmosphere: float,
        turn: float,
    ) -> None:
        """Move the first `count` motes on by `dt` seconds and fill their position, colour
        and size for this frame."""
        theta, radius, height = self.theta[:count], self.radius[:count], self.height[:count]
        speed = self.speed[:count]
        theta += dt * (0.25 + 1.6 * surge) * speed / (0.4 + radius)
        theta %= 2 * np.pi
        height += dt * (0.06 + 0.9 * surge) * speed
        risen = height > 1.6
        if risen.any():
            height[risen] = -1.0
            radius[risen] = self._radii(int(risen.sum()))
        band = (theta * (RING_BANDS / (2 * np.pi))).astype(np.intp) % RING_BANDS
        energy = energies[band]
        waver = 0.06 * np.sin(self.phase[:count] + t * 1.3 * speed)
        crest = np.clip(1.0 - ((height - 0.25) / 1.45) ** 2, 0.0, 1.0)
        spread = radius * (0.3 + 0.7 * np.sqrt(crest)) * (1.0 + 0.5 * surge) + 0.35 * energy + waver
        pos = self.pos[:count]
        seen_at = theta + turn
        pos[:, 0] = spread * np.cos(seen_at)
        pos[:, 1] = spread * np.sin(seen_at)
        pos[:, 2] = height + 0.9 * energy * self.lift[:count] + waver
        rgba = self.rgba[:count]
        tint = self.colours[band]
        if atmosphere > 0:
            tint = (1.0 - 0.35 * atmosphere) * tint + 0.35 * atmosphere * DREAD
        rgba[:, :3] = tint
        fade = np.clip((1.6 - height) * 1.5, 0.0, 1.0) * np.clip((height + 1.0) * 2.0, 0.0, 1.0)
        rgba[:, 3] = (0.16 + 0.3 * surge + 0.3 * energy) * fade
        self.size[:count] = self.grain[:count] * (2.0 + 2.5 * surge + 2.5 * energy)


def _sheet(x: np.ndarray, z: np.ndarray, grow: float) -> np.ndarray:
    """Inside a sheet ghost's outline (a round head over a flaring, ragged hem)."""
    head = x**2 + (z - 0.5) ** 2 < (0.40 + grow) ** 2
    width = 0.40 + grow + (0.5 - z) * 0.14
    hem = -0.62 - grow + 0.09 * np.sin(x * 16.0)
    return head | ((z <= 0.5) & (np.abs(x) < width) & (z > hem))


def _face(x: np.ndarray, z: np.ndarray, personality: Personality, grow: float) -> np.ndarray:
    """Inside the eyes or the mouth, shaped by personality: a grin, a droop or a glare."""
    eye_x, eye_z = np.abs(x) - 0.15, z - 0.55
    if personality == "melancholy":
        eye_z = eye_z + 0.3 * eye_x
        mouth_line, half_length = z - 0.27 + 1.6 * x**2, 0.14
    elif personality == "malevolent":
        eye_z = eye_z - 0.7 * eye_x
        mouth_line, half_length = z - 0.27 + 0.045 * np.sin(x * 40.0), 0.2
    else:
        mouth_line, half_length = z - 0.27 - 2.2 * x**2, 0.22
    eyes = (eye_x / (0.10 + grow)) ** 2 + (eye_z / (0.13 + grow)) ** 2 < 1.0
    mouth = (np.abs(x) < half_length + grow) & (np.abs(mouth_line) < 0.045 + grow)
    return eyes | mouth


def _figure_points(personality: Personality, rng: np.random.Generator) -> np.ndarray:
    """A sheet ghost as points in its own plane: columns x (across), z (up) and a weight
    that makes its outline and the rims of its eyes and mouth glow brighter."""
    candidates = rng.uniform((-0.6, -0.8), (0.6, 1.0), (FIGURE_POINTS * 4, 2))
    x, z = candidates[:, 0], candidates[:, 1]
    kept = _sheet(x, z, 0.0) & ~_face(x, z, personality, 0.0)
    x, z = x[kept][:FIGURE_POINTS], z[kept][:FIGURE_POINTS]
    outline = ~_sheet(x, z, -0.06)
    rims = _face(x, z, personality, 0.05)
    weight = 1.0 + 1.4 * outline + 1.8 * rims
    return np.column_stack((x, z, weight)).astype(np.float32)


class Figures:
    """Apparitions: each haunt on show as a translucent figure that fades in and out."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.shapes = {
            personality: _figure_points(personality, rng) for personality in APPARITION_COLOURS
        }
        self.fade: dict[str, float] = {}
        self.personality: dict[str, Personality] = {}

    def step(self, apparitions: tuple[Apparition, ...], dt: float) -> None:
        """Fade figures of the haunts in `apparitions` in, and all others out. A haunt first
        seen already some time into its manifestation (a replay joined midway) starts that
        far faded in."""
        present = {apparition.haunt for apparition in apparitions}
        for apparition in apparitions:
            self.personality[apparition.haunt] = apparition.personality
            self.fade.setdefault(apparition.haunt, min(1.0, apparition.age_s / FADE_IN_S))
        for haunt in list(self.fade):
            if haunt in present:
                self.fade[haunt] = min(1.0, self.fade[haunt] + dt / FADE_IN_S)
            else:
                self.fade[haunt] = self.fade[haunt] - dt / FADE_OUT_S
                if self.fade[haunt] <= 0.0:
                    del self.fade[haunt], self.personality[haunt]

    def points(self, t: float, azimuth_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions, colours and sizes of every figure on show, facing the camera."""
        shown = sorted(self.fade)
        across = np.array(
            [math.cos(math.radians(azimuth_deg)), math.sin(math.radians(azimuth_deg)), 0.0],
            dtype=np.float32,
        )
        positions, colours, sizes = [], [], []
        for slot, haunt in enumerate(shown):
            fade = self.fade[haunt]
            eased = fade * fade * (3.0 - 2.0 * fade)
            shape = self.shapes[self.personality[haunt]]
            x, z, weight = shape[:, 0], shape[:, 1], shape[:, 2]
            hem_depth = np.clip(0.5 - z, 0.0, None)
            x = x + 0.06 * hem_depth * np.sin(3.0 * t + 5.0 * z)
            offset = (slot - (len(shown) - 1) / 2) * 1.5
            scale = 1.3 + 0.15 * eased
            rise = 1.45 + 0.08 * math.sin(1.4 * t + slot) - 0.35 * (1.0 - eased)
            pos = np.empty((len(shape), 3), dtype=np.float32)
            pos[:] = ((x * scale + offset)[:, None]) * across
            pos[:, 2] = z * scale + rise
            rgba = np.empty((len(shape), 4), dtype=np.float32)
            rgba[:, :3] = APPARITION_COLOURS[self.personality[haunt]]
            tail = np.clip((z + 0.62) / 0.7, 0.15, 1.0)
            rgba[:, 3] = np.minimum(0.22 * eased * weight * tail, 1.0)
            positions.append(pos)
            colours.append(rgba)
            sizes.append(np.full(len(shape), 6.0, dtype=np.float32))
        if not positions:
            return np.zeros((0, 3), np.float32), np.zeros((0, 4), np.float32), np.zeros(0)
        return np.concatenate(positions), np.concatenate(colours), np.concatenate(sizes)


class ShadowRealm(QWidget):
    """The vispy scene as a widget. Raises `SceneUnavailable` where it cannot be drawn."""

    def __init__(
        self, parent: QWidget | None = None, *, seed: int = 0, capacity: int = MAX_PARTICLES
    ) -> None:
        _check_opengl()
        scene = _vispy_scene()
        super().__init__(parent)
        self.setObjectName("shadowRealm")
        self.canvas = scene.SceneCanvas(keys=None, bgcolor=backdrop(0.0), show=False, parent=self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas.native)
        self.view = self.canvas.central_widget.add_view()
        self.view.camera = scene.TurntableCamera(
            fov=50.0, elevation=20.0, azimuth=0.0, distance=6.4, center=(0.0, 0.0, 0.6)
        )
        rng = np.random.default_rng(seed)
        self.budget = ParticleBudget(capacity=capacity, floor=min(MIN_PARTICLES, capacity))
        self.ectoplasm = Ectoplasm(capacity, rng)
        self.figures = Figures(rng)

        visuals = scene.visuals
        self.particles = visuals.Markers(parent=self.view.scene, antialias=MOTE_SOFTNESS)
        self.ring = visuals.Line(parent=self.view.scene, connect="segments", width=2.0)
        self.orb = visuals.Markers(parent=self.view.scene, antialias=ORB_SOFTNESS)
        self.apparition = visuals.Markers(parent=self.view.scene, antialias=1.5)
        for visual in (self.particles, self.ring, self.orb, self.apparition):
            visual.set_gl_state("additive", depth_test=False)
        self.fps_text = visuals.Text(
            "",
            parent=self.canvas.scene,
            color=TEXT,
            font_size=8,
            anchor_x="left",
            anchor_y="bottom",
        )
        self.fps_text.pos = (10, 10)
        self.canvas.events.draw.connect(self._count_draw)
        self._draws: deque[float] = deque(maxlen=FPS_FRAMES + 1)
        self._disposed = False
        self._band_colours = band_colours(RING_BANDS)
        self._orb_shown: tuple[float, bool] | None = None
        self._fps_shown_at = -math.inf
        self._fps_shown_count = 0
        self._last_now: float | None = None
        self._surge = 0.0
        self._energies = np.zeros(RING_BANDS, dtype=np.float32)
        self._t = 0.0
        self._turn = 0.0
        self.show_frame(SceneFrame.silence(), 0.0)

    @property
    def particle_count(self) -> int:
        """How many motes the realm draws now."""
        return self.budget.count

    @property
    def fps(self) -> float:
        """Frames drawn per second over the last `FPS_FRAMES` frames (0 before two frames)."""
        if len(self._draws) < 2 or self._draws[-1] <= self._draws[0]:
            return 0.0
        return (len(self._draws) - 1) / (self._draws[-1] - self._draws[0])

    def show_frame(self, frame: SceneFrame, now: float) -> None:
        """Move the realm on to `now` (seconds, monotonic) showing `frame`; a redraw follows."""
        if self._disposed:
            return
        dt = 0.0 if self._last_now is None else min(max(now - self._last_now, 0.0), 0.25)
        self._last_now = now
        self._t += dt
        count = self.budget.frame_at(now)
        target = float(loudness(frame.level_dbfs))
        release = math.exp(-dt / 0.35)
        self._surge = target if target >= self._surge else target + (self._surge - target) * release
        energies = ring_energies(frame.spectrum)
        self._energies = np.maximum(energies, self._energies * math.exp(-dt / 0.2))

        self._turn = math.radians(ORBIT_DEG_PER_S * self._t) % (2 * math.pi)
        self.ectoplasm.step(
            count, dt, self._t, self._surge, self._energies, frame.atmosphere, self._turn
        )
        self.particles.set_data(
            self.ectoplasm.pos[:count],
            face_color=self.ectoplasm.rgba[:count],
            size=self.ectoplasm.size[:count],
            edge_width=0.0,
        )
        self._show_ring()
        self._show_orb(frame.voiced)
        self.canvas.bgcolor = backdrop(frame.atmosphere)
        self.figures.step(frame.apparitions, dt)
        pos, rgba, size = self.figures.points(self._t, self.view.camera.azimuth)
        self.apparition.visible = len(pos) > 0
        if len(pos):
            self.apparition.set_data(pos, face_color=rgba, size=size, edge_width=0.0)
        self._show_fps(now, count)
        self.canvas.update()

    def _show_ring(self) -> None:
        """The spectrum as spokes around the orb, their tips joined into a ring."""
        energies = self._energies
        angles = np.linspace(0.0, 2 * np.pi, RING_BANDS, endpoint=False) + self._turn
        inner, outer = 0.75, 0.9 + 0.9 * energies
        following = np.roll(np.arange(RING_BANDS), -1)
        ends = (
            (inner, angles),
            (outer, angles),
            (outer, angles),
            (outer[following], angles[following]),
        )
        segments = np.full((RING_BANDS * 4, 3), 0.1, dtype=np.float32)
        segment_rgba = np.empty((RING_BANDS * 4, 4), dtype=np.float32)
        glow = 0.35 + 0.65 * energies
        for k, (radius, angle) in enumerate(ends):
            segments[k::4, 0], segments[k::4, 1] = radius * np.cos(angle), radius * np.sin(angle)
            segment_rgba[k::4, :3] = self._band_colours
            segment_rgba[k::4, 3] = glow * (0.35 if k == 0 else 0.9)
        self.ring.set_data(pos=segments, color=segment_rgba)

    def _show_orb(self, voiced: bool) -> None:
        """The glowing centre: brighter with the sound, whiter while someone speaks."""
        state = (round(self._surge, 2), voiced)
        if state == self._orb_shown:
            return
        self._orb_shown = state
        surge, colours = self._surge, self._band_colours
        core = ORB_CORE if voiced else 0.6 * ORB_CORE + 0.4 * MIST
        rgba = np.empty((3, 4), dtype=np.float32)
        rgba[:, :3] = [core, 0.5 * (core + colours[0]), 0.5 * (colours[0] + colours[-1])]
        rgba[:, 3] = np.array([1.0, 0.4, 0.12]) * (0.6 + 0.4 * surge)
        self.orb.set_data(
            np.tile(np.float32([[0.0, 0.0, 0.1]]), (3, 1)),
            face_color=rgba,
            size=np.array([30.0, 80.0, 170.0], dtype=np.float32) * (0.7 + 0.5 * surge),
            edge_width=0.0,
        )

    def _show_fps(self, now: float, count: int) -> None:
        """The fps line, rewritten twice a second, or when the motes' count changes (laying
        out text costs)."""
        recent = 0.0 <= now - self._fps_shown_at < 0.5
        if recent and count == self._fps_shown_count:
            return
        self._fps_shown_at, self._fps_shown_count = now, count
        text = f"{self.fps:4.0f} fps · {count:,} motes"
        if text != self.fps_text.text:
            self.fps_text.text = text

    def _count_draw(self, event: object = None) -> None:
        self._draws.append(time.perf_counter())

    def dispose(self) -> None:
        """Release the canvas and its OpenGL context; later frames are ignored."""
        if self._disposed:
            return
        self._disposed = True
        self.canvas.events.draw.disconnect(self._count_draw)
        self.canvas.close()
