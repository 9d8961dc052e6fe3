"""The audit package's shape: no import cycle among its modules, the seed's names exported
from the package itself, and nothing heavy imported by importing it."""

from __future__ import annotations

import subprocess
import sys

import grimp

import phantom_gui.audit as audit_package
from phantom_gui.audit.emitter import EventEmitter
from phantom_gui.audit.events import Event, EventType
from phantom_gui.audit.storage import AuditStorage


def _cycle(graph: grimp.ImportGraph, modules: set[str]) -> list[str] | None:
    """A cycle of imports among `modules`, if there is one (depth-first search)."""
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "open"
        for imported in sorted(graph.find_modules_directly_imported_by(module) & modules):
            if state.get(imported) == "open":
                return [*path[path.index(imported) :], imported]
            if imported not in state and (found := visit(imported, [*path, imported])):
                return found
        state[module] = "done"
        return None

    for module in sorted(modules):
        if module not in state and (found := visit(module, [module])):
            return found
    return None


def test_no_module_of_the_audit_package_imports_itself_back() -> None:
    graph = grimp.build_graph("phantom_gui")
    modules = {"phantom_gui.audit", *graph.find_descendants("phantom_gui.audit")}
    assert len(modules) > 10
    assert _cycle(graph, modules) is None
    assert not graph.direct_import_exists(
        importer="phantom_gui.audit.verify", imported="phantom_gui.audit.storage"
    )


def test_the_seeds_names_come_from_the_package() -> None:
    assert audit_package.AuditStorage is AuditStorage
    assert audit_package.EventEmitter is EventEmitter
    assert (audit_package.Event, audit_package.EventType) == (Event, EventType)
    assert sorted(audit_package.__all__) == ["AuditStorage", "Event", "EventEmitter", "EventType"]


def test_importing_a_part_of_the_package_does_not_import_the_storage() -> None:
    """Child processes import the event types; they must not pay for SQLite and the rest."""
    probe = (
        "import sys\n"
        "from phantom_gui.audit import events, EventType\n"
        "heavy = ('sqlite3', 'phantom_gui.audit.storage', 'reactivex')\n"
        "print([module for module in heavy if module in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
