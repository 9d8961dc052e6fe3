"""The lantern's panel: a painted jack-o'-lantern, a brightness slider and a status line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    Property,
    QEasingCurve,
    QPointF,
    QPropertyAnimation,
    QRectF,
    Qt,
    QTimer,
)
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPaintEvent, QPen, QRadialGradient
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from phantom_lantern.plugin import Lantern

FLICKER_MS = 900
STATUS_INTERVAL_MS = 250
FLICKER_KEYS = ((0.0, 1.0), (0.12, 0.25), (0.3, 0.9), (0.45, 0.05), (0.65, 0.8), (1.0, 1.0))
"""(progress, glow) key frames of one flicker."""

SKIN, SKIN_DARK, RIND = QColor("#f07a1c"), QColor("#a34000"), QColor("#5c2400")
STEM = QColor("#5b7a2b")
FLAME = (QColor("#1c0f08"), QColor("#ffb030"), QColor("#fff8c8"))
"""The flame's colour when out, half lit and at full brightness."""


class LanternWidget(QWidget):
    """A painted jack-o'-lantern whose face glows with `brightness` × `glow`."""

    def __init__(self, brightness: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(180, 170)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._brightness = brightness
        self._glow = 1.0
        self.flicker_animation = QPropertyAnimation(self, b"glow", self)
        self.flicker_animation.setDuration(FLICKER_MS)
        self.flicker_animation.setEasingCurve(QEasingCurve.Type.Linear)
        for progress, glow in FLICKER_KEYS:
            self.flicker_animation.setKeyValueAt(progress, glow)

    def set_brightness(self, brightness: int) -> None:
        """The flame's brightness, 0..100."""
        self._brightness = brightness
        self.update()

    def flicker(self) -> None:
        """Play one flicker (restarting it if one is playing)."""
        self.flicker_animation.stop()
        self.flicker_animation.start()

    def _get_glow(self) -> float:
        return self._glow

    def _set_glow(self, glow: float) -> None:
        self._glow = glow
        self.update()

    glow = Property(float, _get_glow, _set_glow)
    """How much of the brightness shows now (1 but during a flicker)."""

    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the halo, the pumpkin, its stem and its glowing face."""
        level = self._brightness / 100 * self._glow
        side = min(self.width(), self.height() / 0.9)
        body = QRectF(0, 0, side * 0.82, side * 0.62)
        body.moveCenter(QPointF(self.width() / 2, self.height() / 2 + side * 0.06))
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint_halo(painter, level)
        self._paint_stem(painter, body)
        self._paint_body(painter, body)
        self._paint_face(painter, body, level)
        painter.end()

    def _paint_halo(self, painter: QPainter, level: float) -> None:
        center = QPointF(self.width() / 2, self.height() / 2)
        radius = min(self.width(), self.height()) / 2
        halo = QRadialGradient(center, radius)
        halo.setColorAt(0.0, QColor(255, 160, 50, int(170 * level)))
        halo.setColorAt(1.0, QColor(255, 160, 50, 0))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(halo))
        painter.drawEllipse(center, radius, radius)

    @staticmethod
    def _paint_stem(painter: QPainter, body: QRectF) -> None:
        stem = QRectF(0, 0, body.width() * 0.1, body.height() * 0.24)
        stem.moveCenter(QPointF(body.center().x() + body.width() * 0.02, body.top()))
        painter.setPen(QPen(STEM.darker(160), 2))
        painter.setBrush(STEM)
        painter.drawRoundedRect(stem, 4, 4)

    @staticmethod
    def _paint_body(painter: QPainter, body: QRectF) -> None:
        painter.setPen(QPen(RIND, 2))
        for fraction in (0.0, 0.42, 0.62):
            rib = QRectF(body)
            rib.setWidth(body.width() * (1 - fraction))
            rib.moveCenter(body.center())
            skin = QRadialGradient(rib.center() - QPointF(0, rib.height() * 0.2), rib.width())
            skin.setColorAt(0.0, SKIN)
            skin.setColorAt(1.0, SKIN_DARK)
            painter.setBrush(QBrush(skin))
            painter.drawEllipse(rib)

    @staticmethod
    def _paint_face(painter: QPainter, body: QRectF, level: float) -> None:
        flame = QRadialGradient(body.center(), body.width() * 0.45)
        flame.setColorAt(0.0, flame_colour(level))
        flame.setColorAt(1.0, flame_colour(level * 0.6))
        painter.setPen(QPen(RIND, 2))
        painter.setBrush(QBrush(flame))
        x, y, w, h = body.x(), body.y(), body.width(), body.height()

        def shape(*points: tuple[float, float]) -> QPainterPath:
            path = QPainterPath(QPointF(x + points[0][0] * w, y + points[0][1] * h))
            for px, py in points[1:]:
                path.lineTo(x + px * w, y + py * h)
            path.closeSubpath()
            return path

        painter.drawPath(shape((0.22, 0.45), (0.30, 0.24), (0.40, 0.45)))
        painter.drawPath(shape((0.60, 0.45), (0.70, 0.24), (0.78, 0.45)))
        painter.drawPath(shape((0.46, 0.58), (0.50, 0.49), (0.54, 0.58)))
        painter.drawPath(
            shape(
                (0.20, 0.64), (0.30, 0.70), (0.34, 0.64), (0.42, 0.72), (0.50, 0.65),
                (0.58, 0.72), (0.66, 0.64), (0.70, 0.70), (0.80, 0.64), (0.72, 0.82),
                (0.60, 0.88), (0.40, 0.88), (0.28, 0.82),
            )
        )  # fmt: skip


class LanternPanel(QWidget):
    """A view of a `Lantern`: it paints the flame, forwards the slider, shows the counts."""

    def __init__(self, lantern: Lantern, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lantern = lantern
        self.setObjectName("lanternPanel")
        self.lantern_view = LanternWidget(lantern.brightness)
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100)
        self.slider.setValue(lantern.brightness)
        self.slider.setToolTip("How brightly the lantern burns (remembered between runs)")
        self.value_label = QLabel(f"{lantern.brightness}%", minimumWidth=40)
        self.status = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.status.setStyleSheet("color: #8d84a0;")

        row = QHBoxLayout()
        row.addWidget(QLabel("Brightness"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.value_label)
        layout = QVBoxLayout(self)
        layout.addWidget(self.lantern_view, 1)
        layout.addLayout(row)
        layout.addWidget(self.status)

        self.slider.valueChanged.connect(self._slid)
        self.slider.sliderReleased.connect(self._save)
        subscription = lantern.flickers.subscribe(self._flickered)
        self.destroyed.connect(subscription.dispose)
        self.status_clock = QTimer(self, interval=STATUS_INTERVAL_MS)
        self.status_clock.timeout.connect(self.refresh)
        self.status_clock.start()
        self.refresh()

    def refresh(self) -> None:
        """Follow the lantern: its brightness (a restore may change it) and its counts."""
        if self.slider.value() != self.lantern.brightness and not self.slider.isSliderDown():
            self.slider.setValue(self.lantern.brightness)
        lantern = self.lantern
        self.status.setText(
            f"{lantern.sightings} sightings  ·  {lantern.flickers_shown} flickers  ·  "
            f"{lantern.haunts_seen} haunts in the realm"
        )

    def _slid(self, value: int) -> None:
        self.lantern.set_brightness(value, persist=not self.slider.isSliderDown())
        self.lantern_view.set_brightness(value)
        self.value_label.setText(f"{value}%")

    def _save(self) -> None:
        self.lantern.set_brightness(self.slider.value())

    def _flickered(self, _flicker: Any) -> None:
        self.lantern_view.flicker()


def flame_colour(level: float) -> QColor:
    """The flame at `level` (0..1): out, then amber, then pale yellow (eased to look even)."""
    level = max(0.0, min(1.0, level)) ** 0.5 * (len(FLAME) - 1)
    low = min(int(level), len(FLAME) - 2)
    start, end, mix = FLAME[low], FLAME[low + 1], level - low
    return QColor(
        round(start.red() + (end.red() - start.red()) * mix),
        round(start.green() + (end.green() - start.green()) * mix),
        round(start.blue() + (end.blue() - start.blue()) * mix),
    )
