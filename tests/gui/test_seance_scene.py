"""The shadow realm on the virtual screen: a real vispy canvas drawn by llvmpipe, frames
fed by the test with its own clock, the pictures read back from the canvas."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QApplication

from phantom_seance._qt.scene import MAX_PARTICLES, SceneUnavailable, ShadowRealm
from phantom_seance.frame import Apparition, SceneFrame

pytestmark = pytest.mark.screen

FRAME_S = 1 / 30
BANDS = np.linspace(0.0, 1.0, 32)


def sound(level_dbfs: float, **fields: object) -> SceneFrame:
    """A frame of a voice-like sound at `level_dbfs`: its spectrum peaks in the low bands."""
    spectrum = level_dbfs - 6.0 - 40.0 * (BANDS - 0.25) ** 2 / 0.1
    return SceneFrame(level_dbfs=level_dbfs, spectrum=spectrum, **fields)  # type: ignore[arg-type]


QUIET = sound(-72.0)
LOUD = sound(-6.0, voiced=True)


class Feed:
    """Shows frames on the realm on the test's own clock, one frame clock tick at a time."""

    def __init__(self, realm: ShadowRealm) -> None:
        self.realm = realm
        self.now = 100.0

    def __call__(self, frame: SceneFrame, seconds: float = FRAME_S, step: float = FRAME_S) -> None:
        for _ in range(max(1, round(seconds / step))):
            self.now += step
            self.realm.show_frame(frame, self.now)
        QApplication.processEvents()

    def picture(self) -> np.ndarray:
        """What the canvas shows now, as RGB (height, width, 3) floats."""
        return self.realm.canvas.render()[..., :3].astype(np.float32)


def made_realm(qtbot) -> ShadowRealm:  # type: ignore[no-untyped-def]
    realm = ShadowRealm(seed=7)
    realm.resize(640, 420)
    realm.show()
    qtbot.waitExposed(realm)
    return realm


def closed(realm: ShadowRealm) -> None:
    realm.dispose()
    realm.close()
    realm.deleteLater()


@pytest.fixture
def realm(qtbot) -> Iterator[ShadowRealm]:  # type: ignore[no-untyped-def]
    realm = made_realm(qtbot)
    yield realm
    closed(realm)


@pytest.fixture
def feed(realm: ShadowRealm) -> Feed:
    return Feed(realm)


def lit(picture: np.ndarray) -> np.ndarray:
    """Where the picture glows: pixels clearly brighter than the dark background."""
    return picture.sum(axis=2) > 90.0


def spread(picture: np.ndarray) -> float:
    """How widely the glow reaches: the spread (std, px) of lit pixels about their centre."""
    rows, columns = np.nonzero(lit(picture))
    return float(np.hypot(rows.std(), columns.std())) if rows.size else 0.0


def tinted(picture: np.ndarray, channel: int) -> int:
    """How many pixels are strongly of one colour (0 red, 1 green, 2 blue) over the others."""
    others = [c for c in range(3) if c != channel]
    strong = picture[..., channel] > 80.0
    for other in others:
        strong &= picture[..., channel] > 1.4 * picture[..., other] + 10.0
    return int(strong.sum())


def test_frames_are_drawn_with_the_fps_and_the_motes_shown(
    qtbot, realm: ShadowRealm, feed: Feed
) -> None:  # type: ignore[no-untyped-def]
    for _ in range(10):
        feed(QUIET)
    qtbot.waitUntil(lambda: realm.fps > 0)
    picture = feed.picture()
    assert lit(picture).sum() > 500, "the realm shows next to nothing"
    assert "fps" in realm.fps_text.text
    assert f"{MAX_PARTICLES:,} motes" in realm.fps_text.text


def test_the_motes_move_from_frame_to_frame(feed: Feed) -> None:
    feed(QUIET, seconds=0.5)
    before = feed.picture()
    feed(QUIET)
    after = feed.picture()
    changed = np.abs(after - before).sum(axis=2) > 12.0
    assert changed.sum() > 300, "the ectoplasm stands still"


def test_a_loud_sound_makes_the_ectoplasm_surge_and_glow(feed: Feed) -> None:
    feed(QUIET, seconds=1.0)
    quiet = feed.picture()
    feed(LOUD)
    loud = feed.picture()
    assert loud.mean() > 1.5 * quiet.mean(), (quiet.mean(), loud.mean())
    assert lit(loud).sum() > 2 * lit(quiet).sum()
    assert spread(loud) > 1.15 * spread(quiet), (spread(quiet), spread(loud))


def test_the_realm_calms_down_when_the_room_falls_quiet(feed: Feed) -> None:
    feed(QUIET, seconds=1.0)
    calm = feed.picture().mean()
    feed(LOUD, seconds=0.5)
    feed(QUIET, seconds=3.0)
    assert feed.picture().mean() < 1.2 * calm


def test_low_sounds_light_the_ectoplasm_teal_and_high_sounds_violet(feed: Feed) -> None:
    def colour_of(peak: float) -> float:
        feed(QUIET, seconds=2.0)
        spectrum = -6.0 - 300.0 * (BANDS - peak) ** 2
        feed(SceneFrame(level_dbfs=-20.0, spectrum=spectrum), seconds=0.3)
        picture = feed.picture()
        return float(picture[..., 1].sum() / picture[..., 2].sum())

    low, high = colour_of(0.0), colour_of(1.0)
    assert low > 1.1 * high, (low, high)


def test_a_haunt_that_manifests_appears_in_its_colour_and_fades_away(feed: Feed) -> None:
    feed(QUIET, seconds=1.0)
    empty = tinted(feed.picture(), channel=0)
    for tick in range(45):
        feed(sound(-72.0, apparitions=(Apparition("Grimwald", "malevolent", tick * FRAME_S),)))
    haunted = tinted(feed.picture(), channel=0)
    assert haunted > empty + 2000, (empty, haunted)
    feed(QUIET, seconds=2.5)
    assert tinted(feed.picture(), channel=0) < empty + 200


def test_a_haunt_joined_midway_shows_at_once(feed: Feed) -> None:
    feed(QUIET, seconds=0.5)
    empty = tinted(feed.picture(), channel=0)
    feed(sound(-72.0, apparitions=(Apparition("Grimwald", "malevolent", 5.0),)))
    assert tinted(feed.picture(), channel=0) > empty + 2000


def test_each_personality_has_its_own_colour(feed: Feed) -> None:
    feed(QUIET, seconds=0.5)
    empty_green = tinted(feed.picture(), channel=1)
    feed(sound(-72.0, apparitions=(Apparition("Puck", "mischievous", 1.0),)), seconds=1.5)
    picture = feed.picture()
    assert tinted(picture, channel=1) > empty_green + 2000
    assert tinted(picture, channel=0) < 200


def test_fewer_motes_are_drawn_while_frames_come_slowly_and_more_again_after(
    feed: Feed, realm: ShadowRealm
) -> None:
    feed(QUIET, seconds=4.0, step=0.1)
    slowed = realm.particle_count
    assert slowed < MAX_PARTICLES // 2
    assert f"{slowed:,} motes" in realm.fps_text.text
    feed(QUIET, seconds=30.0, step=1 / 60)
    assert realm.particle_count == MAX_PARTICLES


def test_any_number_of_bands_and_silence_are_shown(feed: Feed) -> None:
    for bands in (0, 1, 7, 512):
        feed(SceneFrame(level_dbfs=-20.0, spectrum=np.full(bands, -20.0)))
    feed(SceneFrame.silence())
    assert lit(feed.picture()).sum() > 0


def test_opening_and_closing_the_realm_again_and_again_leaves_no_canvas_behind(qtbot) -> None:  # type: ignore[no-untyped-def]
    from vispy.scene import SceneCanvas

    def gl_widgets() -> int:
        return sum(isinstance(w, QOpenGLWidget) for w in QApplication.allWidgets())

    def canvases() -> int:
        gc.collect()
        return sum(isinstance(o, SceneCanvas) for o in gc.get_objects())

    widgets_before, canvases_before = gl_widgets(), canvases()
    for _ in range(4):
        realm = made_realm(qtbot)
        Feed(realm)(LOUD, seconds=0.2)
        assert gl_widgets() == widgets_before + 1
        closed(realm)
        del realm
        qtbot.wait(10)
    QApplication.processEvents()
    assert gl_widgets() == widgets_before
    assert canvases() == canvases_before


def test_a_frame_after_the_realm_is_closed_is_ignored(qtbot) -> None:  # type: ignore[no-untyped-def]
    realm = made_realm(qtbot)
    closed(realm)
    realm.show_frame(LOUD, 1.0)
    realm.dispose()


def test_without_opengl_the_realm_says_why_instead_of_crashing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = (
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from phantom_seance._qt.scene import SceneUnavailable, ShadowRealm\n"
        "try:\n"
        "    ShadowRealm()\n"
        "except SceneUnavailable as error:\n"
        "    print('unavailable:', error)\n"
    )
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "unavailable: the shadow realm needs OpenGL" in result.stdout


def test_scene_unavailable_is_an_error_a_panel_can_catch() -> None:
    assert issubclass(SceneUnavailable, RuntimeError)
