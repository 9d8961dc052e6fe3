"""Loading a plugin: retries of what may pass, at once for what cannot, the contract,
`sys.path` scoped to the import, hot reload."""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace

import pytest

from phantom_gui.core.errors import ManifestationError
from phantom_gui.plugins.lifecycle import PluginState
from phantom_gui.plugins.status import Reloaded

from support.plugin_host import (
    Harness,
    failing_init,
    plugin_harness,
    poke,
    rewrite,
    run,
)

h = pytest.fixture(name="h")(plugin_harness)


# -- failures in init and retries -----------------------------------------------------------


def test_a_plugin_raising_in_init_fails_after_three_retries_and_the_app_survives(
    h: Harness,
) -> None:
    h.plugins.add("cursed", failing_init(-1))
    h.plugins.add("lantern")
    manager = h.manager()

    with pytest.raises(ManifestationError) as caught:
        run(manager.activate("cursed"))

    record = manager.records["cursed"]
    assert "gave up after 4 attempts" in str(caught.value)
    assert "RuntimeError: the candle went out" in str(caught.value)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert record.state is PluginState.FAILED
    assert record.load_attempts == 4
    assert h.plugins.module("cursed").ATTEMPTS == 4
    assert record.error == "RuntimeError: the candle went out"
    assert record.traceback is not None
    assert "RuntimeError: the candle went out" in record.traceback
    assert "in init" in record.traceback

    retries = h.data_on("plugin/cursed/retry")
    assert [retry.attempt for retry in retries] == [1, 2, 3]
    delays = [retry.delay_s for retry in retries]
    assert delays == [0.5, 1.0, 2.0]
    assert all(later > earlier for earlier, later in itertools.pairwise(delays))
    assert {retry.error for retry in retries} == {"RuntimeError: the candle went out"}
    assert {retry.plugin_id for retry in retries} == {"cursed"}
    assert h.sleeps == delays
    assert h.states("cursed") == ["discovered", "resolved"] + ["loading", "failed"] * 4

    assert not h.hub.is_stopped
    run(manager.activate("lantern"))
    assert manager.records["lantern"].state is PluginState.ACTIVE
    heard = h.hub.publish("after/the/storm", 1, source="test")
    assert h.events[-1] is heard


def test_a_plugin_whose_init_fails_twice_for_a_passing_reason_is_retried_and_loads(
    h: Harness,
) -> None:
    h.plugins.add("flaky", failing_init(2, 'OSError("the cellar door is stuck")'))
    manager = h.manager()
    record = run(manager.activate("flaky"))

    assert record.state is PluginState.ACTIVE
    assert record.load_attempts == 3
    assert record.error is None
    assert record.traceback is None
    retries = h.data_on("plugin/flaky/retry")
    assert [retry.attempt for retry in retries] == [1, 2]
    assert {retry.error for retry in retries} == {"OSError: the cellar door is stuck"}
    assert h.sleeps == [0.5, 1.0]
    assert h.states("flaky")[2:] == ["loading", "failed", "loading", "failed", "loading", "active"]


@pytest.mark.parametrize(
    ("source", "error", "where"),
    [
        (
            "import nowhere_to_be_found\n",
            "ModuleNotFoundError: No module named 'nowhere_to_be_found'",
            "import nowhere_to_be_found",
        ),
        ("def conjure(:\n    pass\n", "SyntaxError: ", "plugin.py"),
        (
            failing_init(-1, 'ImportError("the ouija board needs its planchette")'),
            "ImportError: the ouija board needs its planchette",
            "in init",
        ),
    ],
    ids=["module-does-not-import", "syntax-error", "import-error-in-init"],
)
def test_code_that_does_not_import_fails_at_once_with_its_traceback(
    h: Harness, source: str, error: str, where: str
) -> None:
    h.plugins.add("broken", source)
    manager = h.manager()

    with pytest.raises(ManifestationError) as caught:
        run(manager.activate("broken"))

    assert h.states("broken") == ["discovered", "resolved", "loading", "failed"]
    assert h.on("plugin/broken/retry") == []
    assert h.sleeps == []
    assert "gave up" not in str(caught.value)
    assert str(caught.value).startswith(f"broken: {error}")
    assert isinstance(caught.value.__cause__, ImportError | SyntaxError)
    failed = h.data_on("plugin/broken/state")[-1]
    status = h.board().get("broken")
    for shown in (failed, status):
        assert shown is not None
        assert shown.state is PluginState.FAILED and shown.load_attempts == 1
        assert shown.error is not None and shown.error.startswith(error)
        assert (
            shown.traceback is not None and "Traceback (most recent call last)" in shown.traceback
        )
        assert where in shown.traceback


def test_a_smaller_retry_budget_is_honoured(h: Harness) -> None:
    h.plugins.add("cursed", failing_init(-1))
    manager = h.manager()
    manager.load_policy = replace(manager.load_policy, retries=1)
    with pytest.raises(ManifestationError, match="gave up after 2 attempts"):
        run(manager.activate("cursed"))
    assert manager.records["cursed"].load_attempts == 2
    assert h.sleeps == [0.5]


def test_a_failed_plugin_can_be_activated_again_later(h: Harness) -> None:
    h.plugins.add("flaky", failing_init(4))
    manager = h.manager()
    with pytest.raises(ManifestationError):
        run(manager.activate("flaky"))
    record = run(manager.activate("flaky"))

    assert record.state is PluginState.ACTIVE
    assert record.load_attempts == 5


# -- the contract ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "problems"),
    [
        (
            """
            class Plugin:
                def init(self, context): ...
                def teardown(self): ...
            """,
            ["missing process()"],
        ),
        (
            """
            class Plugin:
                def init(self): ...
                def process(self, event): ...
                def teardown(self): ...
            """,
            ["init() must accept 1 argument(s) besides self"],
        ),
        (
            """
            class Plugin:
                def init(self): ...
                teardown = 3
            """,
            ["init() must accept", "missing process()", "teardown is not callable"],
        ),
    ],
    ids=["no-process", "init-without-context", "several"],
)
def test_a_plugin_breaking_the_contract_fails_to_load(
    h: Harness, source: str, problems: list[str]
) -> None:
    h.plugins.add("crooked", source)
    manager = h.manager()

    with pytest.raises(ManifestationError, match="does not implement the plugin contract") as err:
        run(manager.activate("crooked"))

    record = manager.records["crooked"]
    assert record.state is PluginState.FAILED
    assert record.instance is None
    for problem in problems:
        assert problem in str(err.value)
        assert problem in (record.error or "")
    assert "crooked" in str(err.value)
    assert record.load_attempts == 1
    assert h.on("plugin/crooked/retry") == []


def test_an_entry_naming_a_missing_class_fails_with_its_name(h: Harness) -> None:
    h.plugins.add("lost", class_name="Nowhere")
    manager = h.manager()
    with pytest.raises(ManifestationError, match="has no Nowhere"):
        run(manager.activate("lost"))
    assert manager.records["lost"].state is PluginState.FAILED


# -- sys.path --------------------------------------------------------------------------------

LAMP = """
import sys
from phantom_gui.plugins.contract import Plugin as _Base

PATH_AT_IMPORT = list(sys.path)
SHADE = "{shade}"


class Plugin(_Base):
    def create_panel(self, parent):
        from {package}._qt.panel import glow

        return glow(SHADE)
"""


def lamp(h: Harness, shade: str = "amber") -> str:
    """Write a folder plugin with a lazily imported `_qt` subpackage; return its source."""
    source = LAMP.format(shade=shade, package=h.plugins.package("lamp"))
    module = h.plugins.add("lamp", source)
    qt = module.parent / "_qt"
    qt.mkdir()
    (qt / "__init__.py").write_text("", encoding="utf-8")
    (qt / "panel.py").write_text("def glow(shade):\n    return f'a {shade} glow'\n")
    return source


def test_a_folder_plugin_is_on_sys_path_only_while_its_entry_is_imported(h: Harness) -> None:
    lamp(h)
    manager = h.manager()
    before = list(sys.path)

    run(manager.activate("lamp"))

    assert sys.path == before
    assert str(h.plugins.root) in h.plugins.module("lamp").PATH_AT_IMPORT
    assert manager.create_panel("lamp", None) == "a amber glow"
    assert sys.path == before


def test_hot_reload_imports_a_folder_plugin_again_and_leaves_sys_path_as_it_was(
    h: Harness,
) -> None:
    source = lamp(h)
    manager = h.manager()
    run(manager.activate("lamp"))
    before = list(sys.path)

    rewrite(
        h.plugins.root / h.plugins.package("lamp") / "plugin.py", source.replace("amber", "blue")
    )
    run(manager.reload("lamp"))

    assert sys.path == before
    assert str(h.plugins.root) in h.plugins.module("lamp").PATH_AT_IMPORT
    assert manager.create_panel("lamp", None) == "a blue glow"


# -- hot reload -----------------------------------------------------------------------------

RELOADABLE = """
import reactivex
from phantom_gui.plugins.contract import Plugin as _Base

VERSION = "{version}"


class Plugin(_Base):
    def init(self, context):
        super().init(context)
        self.seen = 0
        context.hub.publish("ghost/version", {{"version": VERSION}})

    def process(self, event):
        self.seen += 1
        return reactivex.of(("ghost/seen", {{"version": VERSION, "seen": self.seen}}))

    def snapshot(self):
        return {{"seen": self.seen}}

    def restore(self, state):
        self.seen = state["seen"]
"""


def test_reload_runs_the_new_code_restores_the_snapshot_and_the_dependants(h: Harness) -> None:
    module = h.plugins.add(
        "shade",
        RELOADABLE.format(version="first"),
        permissions=("hub:subscribe:sensor/#", "hub:publish:ghost/#"),
        consumes=("sensor/#",),
    )
    h.plugins.add("follower", dependencies=("shade",))
    manager = h.manager()
    run(manager.activate("follower"))
    before = manager.records["shade"].instance
    poke(h, 2)
    assert h.data_on("ghost/seen")[-1] == {"version": "first", "seen": 2}

    rewrite(module, RELOADABLE.format(version="second edition"))
    start = len(h.events)
    record = run(manager.reload("shade"))

    assert record.state is PluginState.ACTIVE
    assert record.instance is not before
    assert h.data_on("ghost/version") == [{"version": "first"}, {"version": "second edition"}]
    poke(h)
    assert h.data_on("ghost/seen")[-1] == {"version": "second edition", "seen": 3}
    assert manager.records["follower"].state is PluginState.ACTIVE
    assert h.transitions(since=start) == [
        ("follower", "stopping"),
        ("follower", "stopped"),
        ("shade", "stopping"),
        ("shade", "stopped"),
        ("shade", "loading"),
        ("shade", "active"),
        ("follower", "loading"),
        ("follower", "active"),
    ]
    assert h.data_on("plugin/shade/reloaded") == [Reloaded("shade", restored=True)]


def test_reload_of_a_plugin_without_snapshot_says_nothing_was_restored(h: Harness) -> None:
    plain = "from phantom_gui.plugins.contract import Plugin\nCOLOR = {!r}\n"
    module = h.plugins.add("lantern", plain.format("red"))
    manager = h.manager()
    run(manager.activate("lantern"))
    rewrite(module, plain.format("green-blue"))
    run(manager.reload("lantern"))

    assert h.plugins.module("lantern").COLOR == "green-blue"
    assert h.data_on("plugin/lantern/reloaded") == [Reloaded("lantern", restored=False)]
