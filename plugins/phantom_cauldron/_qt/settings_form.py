"""The form of an evolution's `EvolutionSettings`: every value checked by the model itself,
each field's error shown beside it."""

from __future__ import annotations

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel, QLineEdit, QWidget

from phantom_cauldron.evolution.progress import EvolutionSettings

FIELDS: tuple[tuple[str, str], ...] = (
    ("population", "Population"),
    ("generations", "Generations"),
    ("seed", "Seed"),
    ("crossover_rate", "Crossover rate"),
    ("mutation_rate", "Mutation rate"),
    ("rarity_budget", "Rarity budget"),
)
"""The fields typed as text, in the form's order, with their labels."""


class SettingsForm(QWidget):
    """Text fields for the numbers and a checkbox for the multi-objective mode; `settings`
    is the valid `EvolutionSettings` or None, and `errors` names each bad field."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        defaults = EvolutionSettings()
        self.edits: dict[str, QLineEdit] = {}
        self.error_labels: dict[str, QLabel] = {}
        self.errors: dict[str, str] = {}
        self.settings: EvolutionSettings | None = defaults
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for name, label in FIELDS:
            edit = QLineEdit(str(getattr(defaults, name)), objectName=f"setting_{name}")
            error = QLabel(objectName="brewingFieldError")
            error.setWordWrap(True)
            error.hide()
            edit.textChanged.connect(self.validate)
            layout.addRow(label, edit)
            layout.addRow("", error)
            self.edits[name] = edit
            self.error_labels[name] = error
        self.multi_objective = QCheckBox("Multi-objective")
        self.multi_objective.setToolTip(
            "Potency against cost (NSGA-II): the result is a Pareto front"
        )
        self.multi_objective.setChecked(defaults.multi_objective)
        self.multi_objective.toggled.connect(self.validate)
        layout.addRow("", self.multi_objective)

    def validate(self) -> None:
        """Check the values as typed; show each field's error and say the form changed."""
        values: dict[str, object] = {name: edit.text().strip() for name, edit in self.edits.items()}
        values["multi_objective"] = self.multi_objective.isChecked()
        try:
            self.settings = EvolutionSettings.model_validate(values)
            self.errors = {}
        except ValidationError as exc:
            self.settings = None
            self.errors = {str(error["loc"][0]): error["msg"] for error in exc.errors()}
        for name, label in self.error_labels.items():
            label.setText(self.errors.get(name, ""))
            label.setVisible(name in self.errors)
        self.changed.emit()
