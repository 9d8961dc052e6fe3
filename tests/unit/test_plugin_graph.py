"""The dependency graph: load order, and failures confined to the plugins involved."""

from __future__ import annotations

from pathlib import Path

import pytest

from phantom_gui.core.errors import ManifestationError
from phantom_gui.core.resilience import CircuitBreaker
from phantom_gui.plugins.discovery import DiscoveredPlugin
from phantom_gui.plugins.graph import dependants_of, resolve
from phantom_gui.plugins.manifest import PluginManifest
from phantom_gui.plugins.registry import PluginRecord, PluginRegistry


def plugin(plugin_id: str, *dependencies: str, version: str = "1.0.0") -> PluginManifest:
    return PluginManifest(
        id=plugin_id,
        name=plugin_id.title(),
        version=version,
        entry=f"{plugin_id}:Plugin",
        dependencies=list(dependencies),
    )


def graph(*manifests: PluginManifest) -> dict[str, PluginManifest]:
    return {manifest.id: manifest for manifest in manifests}


def assert_dependencies_first(order: list[str], manifests: dict[str, PluginManifest]) -> None:
    for plugin_id in order:
        for dependency, _ in manifests[plugin_id].requirements():
            assert order.index(dependency) < order.index(plugin_id), (dependency, plugin_id)


def test_plugins_load_after_their_dependencies() -> None:
    manifests = graph(
        plugin("app", "ui", "store"),
        plugin("ui", "core"),
        plugin("store", "core"),
        plugin("core"),
        plugin("loner"),
    )
    resolution = resolve(manifests)
    assert resolution.failures == {}
    assert sorted(resolution.order) == sorted(manifests)
    assert_dependencies_first(resolution.order, manifests)


def test_a_missing_dependency_fails_the_plugin_and_its_dependants_only() -> None:
    manifests = graph(plugin("a", "ghost"), plugin("b", "a"), plugin("c"))
    resolution = resolve(manifests)
    assert resolution.failures == {
        "a": "needs ghost, which is not installed",
        "b": "depends on a, which cannot load",
    }
    assert resolution.order == ["c"]


def test_an_unmet_version_range_names_both_versions() -> None:
    manifests = graph(plugin("a", "lib>=2,<3"), plugin("lib", version="1.4.0"), plugin("c", "lib"))
    resolution = resolve(manifests)
    assert resolution.failures == {"a": "needs lib<3,>=2, but version 1.4.0 is installed"}
    assert_dependencies_first(resolution.order, manifests)
    assert sorted(resolution.order) == ["c", "lib"]


def test_a_met_version_range_resolves() -> None:
    manifests = graph(plugin("a", "lib ~= 1.4"), plugin("lib", version="1.4.2"))
    assert resolve(manifests).order == ["lib", "a"]


def test_a_cycle_fails_only_its_members_and_their_dependants() -> None:
    manifests = graph(
        plugin("x", "y"),
        plugin("y", "z"),
        plugin("z", "x"),
        plugin("after_cycle", "x"),
        plugin("base"),
        plugin("top", "base"),
    )
    resolution = resolve(manifests)
    for member in ("x", "y", "z"):
        assert resolution.failures[member] == "dependency cycle: x → y → z → x"
    assert resolution.failures["after_cycle"] == "depends on x, which cannot load"
    assert set(resolution.failures) == {"x", "y", "z", "after_cycle"}
    assert resolution.order == ["base", "top"]


def test_a_cycle_is_described_along_its_dependencies() -> None:
    manifests = graph(plugin("a", "c"), plugin("c", "b"), plugin("b", "a"))
    assert resolve(manifests).failures["b"] == "dependency cycle: a → c → b → a"


def test_a_plugin_depending_on_itself_is_a_cycle() -> None:
    resolution = resolve(graph(plugin("narcissus", "narcissus"), plugin("echo")))
    assert resolution.failures == {"narcissus": "dependency cycle: narcissus → narcissus"}
    assert resolution.order == ["echo"]


def test_failures_propagate_through_a_chain_of_dependants() -> None:
    manifests = graph(plugin("a", "missing"), plugin("b", "a"), plugin("c", "b"), plugin("d"))
    resolution = resolve(manifests)
    assert resolution.failures["c"] == "depends on b, which cannot load"
    assert resolution.order == ["d"]


def test_dependants_are_listed_most_dependent_first() -> None:
    manifests = graph(
        plugin("core"),
        plugin("ui", "core"),
        plugin("panel", "ui"),
        plugin("store", "core"),
        plugin("app", "panel", "store"),
        plugin("unrelated"),
    )
    order = dependants_of("core", manifests)
    assert sorted(order) == ["app", "panel", "store", "ui"]
    for plugin_id in order:
        for dependency, _ in manifests[plugin_id].requirements():
            if dependency in order:
                assert order.index(plugin_id) < order.index(dependency), (plugin_id, dependency)
    assert dependants_of("ui", manifests) == ["app", "panel"]
    assert dependants_of("app", manifests) == []
    assert dependants_of("unrelated", manifests) == []


def test_dependants_of_a_plugin_feeding_a_cycle_are_all_listed() -> None:
    manifests = graph(plugin("base"), plugin("p", "base", "q"), plugin("q", "p"))
    assert sorted(dependants_of("base", manifests)) == ["p", "q"]


def record(manifest: PluginManifest) -> PluginRecord:
    return PluginRecord(
        DiscoveredPlugin(manifest, "folder", Path(manifest.id) / "phantom-plugin.toml"),
        CircuitBreaker(),
    )


def test_the_registry_resolves_once_per_change_of_its_plugins() -> None:
    registry = PluginRegistry()
    registry.add(record(plugin("base")))
    registry.add(record(plugin("top", "base")))

    first = registry.resolution
    assert registry.resolution is first
    assert registry.load_order() == ["base", "top"]
    assert registry.dependants_of("base") == ("top",)

    registry.add(record(plugin("lone", "base")))

    assert registry.resolution is not first
    assert sorted(registry.load_order()) == ["base", "lone", "top"]
    assert sorted(registry.dependants_of("base")) == ["lone", "top"]
    with pytest.raises(ManifestationError, match="no plugin named 'nobody'"):
        registry.get("nobody")
