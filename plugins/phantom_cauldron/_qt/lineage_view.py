"""The winner's lineage as a tree: each node's children are its parents (a parent named
twice, once), down to a depth and a number of rows (an ancestor reached by two paths is
shown on each)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from phantom_cauldron.evolution.progress import LineageNode

MAX_DEPTH = 8
"""Generations of ancestors shown below the winner."""
MAX_ROWS = 400


class LineageView(QTreeWidget):
    """Id, generation and fitness of the winner and its known ancestors."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("brewingLineage")
        self.setHeaderLabels(("Individual", "Generation", "Fitness"))
        self.setColumnWidth(0, 180)

    def show_lineage(self, lineage: Sequence[LineageNode]) -> None:
        """Show `lineage` (the winner first, then its ancestors in any order)."""
        self.clear()
        if not lineage:
            return
        known = {node.id: node for node in lineage}
        rows = 0
        stack: list[tuple[LineageNode, QTreeWidgetItem | None, int]] = [(lineage[0], None, 0)]
        while stack and rows < MAX_ROWS:
            node, above, depth = stack.pop()
            texts = (node.id, str(node.generation), f"{node.fitness:.4g}")
            item = QTreeWidgetItem(texts) if above is None else QTreeWidgetItem(above, texts)
            if above is None:
                self.addTopLevelItem(item)
            rows += 1
            if depth < MAX_DEPTH:
                parents = [known[ident] for ident in dict.fromkeys(node.parents) if ident in known]
                stack.extend((parent, item, depth + 1) for parent in reversed(parents))
        self.expandToDepth(2)
