"""The evolution's chart: best and mean fitness and the diversity per generation, and in
multi-objective mode the current Pareto front as a scatter of (potency, cost)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from phantom_cauldron.brewing_view_model import FitnessHistory
from phantom_gui.qt.theme import ASH, CRYPT, ECTOPLASM, PUMPKIN


class EvolutionChart(QWidget):
    """Three stacked plots sharing nothing but their style; `draw` sets their data."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(CRYPT)
        self.fitness_plot = self.graphics.addPlot(row=0, col=0, title="Fitness")
        self.fitness_plot.addLegend(offset=(-10, 10))
        self.best_curve = self.fitness_plot.plot(pen=pg.mkPen(PUMPKIN, width=2), name="best")
        self.mean_curve = self.fitness_plot.plot(pen=pg.mkPen(ASH, width=1), name="mean")
        self.diversity_plot = self.graphics.addPlot(row=1, col=0, title="Diversity")
        self.diversity_curve = self.diversity_plot.plot(pen=pg.mkPen(ECTOPLASM, width=1))
        self.diversity_plot.setXLink(self.fitness_plot)
        self.diversity_plot.setLabel("bottom", "generation")
        self.front_plot = self.graphics.addPlot(row=0, col=1, rowspan=2, title="Pareto front")
        self.front_plot.setLabel("bottom", "potency")
        self.front_plot.setLabel("left", "cost")
        self.front_scatter = pg.ScatterPlotItem(size=7, brush=pg.mkBrush(PUMPKIN), pen=None)
        self.front_plot.addItem(self.front_scatter)
        self.front_plot.hide()
        for plot in (self.fitness_plot, self.diversity_plot, self.front_plot):
            plot.setMenuEnabled(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)

    def draw(self, history: FitnessHistory, front: tuple[tuple[float, float], ...]) -> None:
        """Show `history` and `front` (the front's plot only while it has points)."""
        self.best_curve.setData(history.generations, history.best)
        self.mean_curve.setData(history.generations, history.mean)
        self.diversity_curve.setData(history.generations, history.diversity)
        self.front_plot.setVisible(bool(front))
        self.front_scatter.setData(
            x=[potency for potency, _ in front], y=[cost for _, cost in front]
        )
