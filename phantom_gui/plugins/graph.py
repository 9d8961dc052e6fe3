"""The dependency graph of plugins: load order, and which plugins cannot load and why."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from graphlib import TopologicalSorter

from packaging.version import Version

from phantom_gui.plugins.manifest import PluginManifest


@dataclass
class Resolution:
    """A load order for the plugins that can load, and the reason for each that cannot."""

    order: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)


def resolve(manifests: Mapping[str, PluginManifest]) -> Resolution:
    """Check every dependency and order the plugins so dependencies load first.

    A missing dependency, an unmet version range or a dependency cycle fails the
    plugins involved, and then whatever depends on them, and nothing else.
    """
    failures: dict[str, str] = {}
    for plugin_id, manifest in manifests.items():
        for dependency, versions in manifest.requirements():
            target = manifests.get(dependency)
            if target is None:
                failures[plugin_id] = f"needs {dependency}, which is not installed"
            elif versions and Version(target.version) not in versions:
                failures[plugin_id] = (
                    f"needs {dependency}{versions}, but version {target.version} is installed"
                )
    graph = {plugin_id: _dependency_ids(manifest) for plugin_id, manifest in manifests.items()}
    for cycle in _cycles(graph):
        description = " → ".join(_cycle_path(cycle, graph))
        for plugin_id in cycle:
            failures.setdefault(plugin_id, f"dependency cycle: {description}")
    _fail_dependants(graph, failures)
    healthy = {
        plugin_id: [dep for dep in deps if dep in graph]
        for plugin_id, deps in graph.items()
        if plugin_id not in failures
    }
    order = list(TopologicalSorter(healthy).static_order())
    return Resolution(order=order, failures=failures)


def dependants_of(plugin_id: str, manifests: Mapping[str, PluginManifest]) -> list[str]:
    """Every plugin that depends on `plugin_id`, directly or not, the most dependent first."""
    graph = {pid: _dependency_ids(manifest) for pid, manifest in manifests.items()}
    reverse: dict[str, set[str]] = {pid: set() for pid in graph}
    for pid, deps in graph.items():
        for dep in deps:
            reverse.setdefault(dep, set()).add(pid)
    found: set[str] = set()
    stack = [plugin_id]
    while stack:
        for dependant in reverse.get(stack.pop(), ()):
            if dependant not in found:
                found.add(dependant)
                stack.append(dependant)
    acyclic = {pid: [dep for dep in graph[pid] if dep in found] for pid in found}
    try:
        order = list(TopologicalSorter(acyclic).static_order())
    except ValueError:
        order = sorted(found)
    return list(reversed(order))


def _dependency_ids(manifest: PluginManifest) -> list[str]:
    return [dependency for dependency, _ in manifest.requirements()]


def _fail_dependants(graph: Mapping[str, Iterable[str]], failures: dict[str, str]) -> None:
    changed = True
    while changed:
        changed = False
        for plugin_id, deps in graph.items():
            if plugin_id in failures:
                continue
            broken = [dep for dep in deps if dep in failures]
            if broken:
                failures[plugin_id] = f"depends on {broken[0]}, which cannot load"
                changed = True


def _cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components that are cycles (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for dep in graph.get(node, ()):
            if dep not in graph:
                continue
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return cycles


def _cycle_path(component: list[str], graph: Mapping[str, Iterable[str]]) -> list[str]:
    """A dependency path from the first member of `component` back to itself."""
    start = component[0]
    members = set(component)
    routes: dict[str, list[str]] = {start: [start]}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for dep in graph.get(node, ()):
            if dep == start:
                return [*routes[node], start]
            if dep in members and dep not in routes:
                routes[dep] = [*routes[node], dep]
                queue.append(dep)
    raise AssertionError(f"{component} is not a cycle")
