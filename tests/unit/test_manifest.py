"""`phantom-plugin.toml` validation: every problem names the file, the field and what is wrong."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from phantom_gui.core.errors import ManifestationError
from phantom_gui.plugins.manifest import ManifestError, ManifestProblem, load_manifest_file

GOOD_PLUGIN = """
id = "{id}"
name = "A plugin"
version = "1.2.0"
entry = "{id}.plugin:Plugin"
"""


def write(tmp_path: Path, text: str, name: str = "phantom-plugin.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def single(body: str) -> str:
    """A manifest with one [plugin] table: a good plugin, its fields replaced or added by `body`."""
    keys = {line.split("=")[0].strip() for line in body.splitlines() if "=" in line}
    good = [
        line
        for line in GOOD_PLUGIN.format(id="spooky").splitlines()
        if line.split("=")[0].strip() not in keys
    ]
    return "schema_version = 1\n[plugin]\n" + "\n".join(good) + "\n" + body


def problems_of(path: Path) -> list[ManifestProblem]:
    with pytest.raises(ManifestError) as caught:
        load_manifest_file(path)
    error = caught.value
    assert error.path == path
    for line, problem in zip(str(error).splitlines(), error.problems, strict=True):
        assert line == f"{path}: {problem.field}: {problem.message}"
    return error.problems


def only_problem(path: Path) -> ManifestProblem:
    problems = problems_of(path)
    assert len(problems) == 1, problems
    return problems[0]


def test_a_single_plugin_table_is_read_with_its_defaults(tmp_path: Path) -> None:
    [manifest] = load_manifest_file(write(tmp_path, single(""))).plugins
    assert (manifest.id, manifest.name, manifest.version) == ("spooky", "A plugin", "1.2.0")
    assert manifest.entry == "spooky.plugin:Plugin"
    assert manifest.permissions == [] and manifest.dependencies == []
    assert manifest.haunt_probability == 0.0
    assert (manifest.spookiness_level, manifest.isolation, manifest.panel) == (
        "mild",
        "inline",
        None,
    )


def test_a_file_may_declare_several_plugins(tmp_path: Path) -> None:
    text = "schema_version = 1\n" + "".join(
        f"[[plugins]]\n{GOOD_PLUGIN.format(id=plugin_id)}" for plugin_id in ("one", "two")
    )
    manifests = load_manifest_file(write(tmp_path, text)).plugins
    assert [manifest.id for manifest in manifests] == ["one", "two"]


def test_a_full_manifest_with_a_panel(tmp_path: Path) -> None:
    body = """
    author = "Ada"
    dependencies = ["other", "third>=1.0,<2"]
    permissions = ["hub:publish:spooky/#", "hub:subscribe:app/+", "storage"]
    consumes = ["app/started"]
    haunt_probability = 0.25
    spookiness_level = "terrifying"
    panel = { title = "Spooky", area = "left", menu_path = "Sensors" }
    """
    [manifest] = load_manifest_file(write(tmp_path, single(textwrap.dedent(body)))).plugins
    assert manifest.panel is not None
    assert (manifest.panel.title, manifest.panel.area, manifest.panel.menu_path) == (
        "Spooky",
        "left",
        "Sensors",
    )
    assert [(dep, str(spec)) for dep, spec in manifest.requirements()] == [
        ("other", ""),
        ("third", "<2,>=1.0"),
    ]
    assert manifest.granted.may_publish("spooky/a/b")
    assert manifest.granted.may_use("storage")
    assert not manifest.granted.may_use("audio")


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ('version = "one point oh"', "plugin.version", "not a version"),
        ('entry = "no_colon_here"', "plugin.entry", "not an entry point"),
        ('id = "Has Spaces"', "plugin.id", "should match pattern"),
        ("haunt_probability = 1.5", "plugin.haunt_probability", "less than or equal to 1"),
        ("haunt_probability = -0.1", "plugin.haunt_probability", "greater than or equal to 0"),
        ('spookiness_level = "mildly"', "plugin.spookiness_level", "'mild', 'moderate'"),
        ('isolation = "thread"', "plugin.isolation", "'inline' or 'process'"),
        ('permissions = ["hub:publish:a/#/b"]', "plugin.permissions[0]", "whole last level"),
        ('permissions = ["telepathy"]', "plugin.permissions[0]", "unknown permission"),
        ('dependencies = ["other>=banana"]', "plugin.dependencies[0]", "invalid version range"),
        ('dependencies = ["Not An Id"]', "plugin.dependencies[0]", "not a dependency"),
        ('colour = "orange"', "plugin.colour", "Extra inputs are not permitted"),
        ('panel = { title = "T", icon = "x" }', "plugin.panel.icon", "Extra inputs are not"),
        ('panel = { area = "left" }', "plugin.panel.title", "Field required"),
        ('panel = { title = "T", area = "middle" }', "plugin.panel.area", "'left', 'right'"),
    ],
)
def test_a_bad_field_is_named_with_its_problem(
    tmp_path: Path, body: str, field: str, words: str
) -> None:
    problem = only_problem(write(tmp_path, single(body)))
    assert problem.field == field
    assert words in problem.message


def test_a_missing_field_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, 'schema_version = 1\n[plugin]\nid = "x"\nname = "X"\nversion = "1"\n')
    problem = only_problem(path)
    assert (problem.field, problem.message) == ("plugin.entry", "Field required")


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = """
    schema_version = 1
    [[plugins]]
    id = "one"
    name = "One"
    version = "x.y"
    entry = "one:Plugin"
    [[plugins]]
    id = "two"
    name = ""
    version = "1.0"
    entry = "two"
    """
    fields = {problem.field for problem in problems_of(write(tmp_path, text))}
    assert fields == {"plugins[0].version", "plugins[1].name", "plugins[1].entry"}


def test_schema_version_is_required_and_a_whole_number_from_1(tmp_path: Path) -> None:
    missing = only_problem(write(tmp_path, single("").replace("schema_version = 1\n", "")))
    assert (missing.field, missing.message) == ("schema_version", "Field required")
    for bad in ("0", '"1"', "1.5"):
        problem = only_problem(write(tmp_path, single("").replace("= 1\n", f"= {bad}\n", 1)))
        assert problem.field == "schema_version"


def test_a_known_schema_has_no_warning_and_refuses_unknown_fields(tmp_path: Path) -> None:
    assert load_manifest_file(write(tmp_path, single(""))).warning is None
    problem = only_problem(write(tmp_path, single('glow = "green"')))
    assert (problem.field, problem.message) == ("plugin.glow", "Extra inputs are not permitted")


def newer(body: str, version: int = 2) -> str:
    """A manifest of a newer schema: `single(body)` with `schema_version = version`."""
    return single(body).replace("schema_version = 1\n", f"schema_version = {version}\n", 1)


def test_a_newer_schema_is_read_where_understood_and_the_warning_names_file_and_fields(
    tmp_path: Path,
) -> None:
    body = """
    glow = "green"
    haunt_probability = 0.5
    panel = { title = "Spooky", area = "left", icon = "ghost.svg" }
    """
    path = write(tmp_path, newer(textwrap.dedent(body), version=3) + "\n[signing]\nkey = 'x'\n")

    contents = load_manifest_file(path)

    [manifest] = contents.plugins
    assert (manifest.id, manifest.haunt_probability) == ("spooky", 0.5)
    assert manifest.panel is not None and manifest.panel.area == "left"
    assert contents.warning == (
        f"{path}: written for manifest schema 3; this app knows 1 and ignored the fields it "
        "does not know: signing, plugin.glow, plugin.panel.icon"
    )


def test_a_newer_schema_with_only_known_fields_still_says_it_is_newer(tmp_path: Path) -> None:
    path = write(tmp_path, newer(""))
    contents = load_manifest_file(path)
    assert [manifest.id for manifest in contents.plugins] == ["spooky"]
    assert contents.warning == (
        f"{path}: written for manifest schema 2; this app knows 1 (every field is understood)"
    )


def test_a_newer_schema_still_refuses_a_known_field_it_cannot_read(tmp_path: Path) -> None:
    text = "schema_version = 2\n" + "".join(
        f"[[plugins]]\n{GOOD_PLUGIN.format(id=plugin_id)}" for plugin_id in ("one", "two")
    )
    text += 'aura = "violet"\nhaunt_probability = 7\n'
    problem = only_problem(write(tmp_path, text))
    assert problem.field == "plugins[1].haunt_probability"


def test_a_file_without_plugins_says_so(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, "schema_version = 1\n"))
    assert (problem.field, problem.message) == ("plugins", "Field required")
    empty = only_problem(write(tmp_path, "schema_version = 1\nplugins = []\n"))
    assert empty.field == "plugins" and "at least 1 item" in empty.message


def test_both_plugin_forms_in_one_file_are_refused(tmp_path: Path) -> None:
    text = single("") + "\n[[plugins]]\n" + GOOD_PLUGIN.format(id="other")
    problem = only_problem(write(tmp_path, text))
    assert "use either [plugin] or [[plugins]], not both" in problem.message


def test_duplicate_ids_in_one_file_are_named(tmp_path: Path) -> None:
    text = "schema_version = 1\n" + "".join(
        f"[[plugins]]\n{GOOD_PLUGIN.format(id=plugin_id)}" for plugin_id in ("a", "b", "a")
    )
    problem = only_problem(write(tmp_path, text))
    assert problem.message == "plugin ids declared more than once: a"


def test_invalid_toml_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'schema_version = 1\n[plugin]\nid = "unterminated\n')
    problem = only_problem(path)
    assert problem.field == "(file)"
    assert problem.message.startswith("invalid TOML:") and "line 3" in problem.message


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "phantom-plugin.toml"
    path.write_bytes(single('description = "caf\u00e9"').encode("latin-1"))
    problem = only_problem(path)
    assert problem.field == "(file)" and problem.message.startswith("not UTF-8 text")


def test_a_missing_file_is_a_manifest_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "phantom-plugin.toml"
    problem = only_problem(path)
    assert problem.field == "(file)" and "No such file" in problem.message


def test_consumed_topics_must_be_covered_by_a_subscribe_permission(tmp_path: Path) -> None:
    body = 'permissions = ["hub:subscribe:app/+", "hub:publish:cauldron/#"]\n'
    body += 'consumes = ["app/started", "cauldron/#"]'
    problem = only_problem(write(tmp_path, single(body)))
    assert problem.field == "plugin"
    assert problem.message == "consumes 'cauldron/#' but no hub:subscribe permission covers it"


def test_consumes_must_be_valid_patterns(tmp_path: Path) -> None:
    body = 'permissions = ["hub:subscribe:#"]\nconsumes = ["app/#/started"]'
    problem = only_problem(write(tmp_path, single(body)))
    assert problem.field == "plugin.consumes[0]"
    assert "'#' must be the whole last level" in problem.message


def test_a_process_isolated_plugin_cannot_have_a_panel(tmp_path: Path) -> None:
    body = 'isolation = "process"\npanel = { title = "Nope" }'
    problem = only_problem(write(tmp_path, single(body)))
    assert problem.field == "plugin"
    assert "process-isolated plugin cannot contribute a panel" in problem.message
    [manifest] = load_manifest_file(write(tmp_path, single('isolation = "process"'))).plugins
    assert manifest.isolation == "process"


def test_a_manifest_error_is_a_manifestation_error_naming_its_source(tmp_path: Path) -> None:
    path = write(tmp_path, single("haunt_probability = 2"))
    with pytest.raises(ManifestationError) as caught:
        load_manifest_file(path)
    assert caught.value.source == str(path)


def test_the_shipped_manifests_are_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    [monitor] = load_manifest_file(root / "plugins/phantom_hub_monitor/phantom-plugin.toml").plugins
    assert monitor.permissions == ["hub:subscribe:#"]
    assert monitor.panel is not None and monitor.panel.area == "bottom"
    lantern_file = root / "examples/plugins/phantom_lantern/phantom-plugin.toml"
    [lantern] = load_manifest_file(lantern_file).plugins
    assert lantern.consumes == ["app/#"] and lantern.haunt_probability == 0.2
    assert lantern.panel is not None and lantern.panel.menu_path == "Examples"
