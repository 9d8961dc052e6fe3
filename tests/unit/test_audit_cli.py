"""`phantom audit list | show | export | verify`, run in-process through `cli.main`."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phantom_gui.audit.keys import VerificationKey
from phantom_gui.audit.storage import AuditStorage
from phantom_gui.cli import main

RUN_A = "seance-1"
RUN_B = "brew-2"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def storage(data_dir: Path) -> Iterator[AuditStorage]:
    store = AuditStorage(data_dir / "audit")
    store.append_events(
        [
            {
                "type": "phase_started",
                "audit_id": RUN_A,
                "phase": 1,
                "topic": "seance/phase",
                "source": "seance",
                "timestamp": "2031-10-31T23:00:01+00:00",
                "data": {"say": 'Is anyone there, "friend"?\nKnock, twice.'},
            },
            {
                "type": "anomaly",
                "audit_id": RUN_A,
                "topic": "sensor/emf",
                "source": "emf",
                "timestamp": "2031-10-31T23:00:02+00:00",
                "data": {"level": 9, "ünit": "mG"},
            },
            {
                "type": "generation",
                "audit_id": RUN_B,
                "phase": 3,
                "timestamp": "2031-10-31T23:31:00+00:00",
                "data": {"best": 0.5},
            },
            {"type": "error", "audit_id": "orphan", "data": {"why": "no run saved"}},
        ]
    )
    store.save_audit(
        {
            "id": RUN_A,
            "project": "manor",
            "kind": "seance",
            "name": "Veiled Voices",
            "started": "2031-10-31T23:00:00+00:00",
            "medium": "ouija",
        }
    )
    store.save_audit(
        {
            "id": RUN_B,
            "project": "kitchen",
            "kind": "brew",
            "name": "Pumpkin Elixir",
            "started": "2031-10-31T23:30:00+00:00",
        }
    )
    store.update_audit(RUN_B, {"status": "completed", "ended": "2031-10-31T23:45:00+00:00"})
    # Records 1-4 are the events above; 5-7 chain the runs' rows (saved, saved, updated).
    yield store
    store.close()


def phantom(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


# -- list ------------------------------------------------------------------------------------


def test_list_shows_every_run_with_its_event_count(
    storage: AuditStorage, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = phantom(capsys, "audit", "list", "--data-dir", data_dir)
    assert (code, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split() == ["ID", "KIND", "NAME", "STATUS", "STARTED", "ENDED", "EVENTS"]
    assert len(rows) == 2
    assert rows[0].split("  ")[0] == RUN_A
    assert "Veiled Voices" in rows[0] and "running" in rows[0]
    assert rows[0].split()[-2:] == ["-", "3"]  # not ended; two events and its run record
    assert rows[1].startswith(RUN_B) and "Pumpkin Elixir" in rows[1]
    assert rows[1].split()[-3:] == ["2031-10-31T23:30:00+00:00", "2031-10-31T23:45:00+00:00", "3"]


@pytest.mark.parametrize("where", ["before", "middle", "after"])
def test_data_dir_may_come_anywhere(
    storage: AuditStorage, data_dir: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    arguments: dict[str, list[str | Path]] = {
        "before": ["--data-dir", data_dir, "audit", "list"],
        "middle": ["audit", "--data-dir", data_dir, "list"],
        "after": ["audit", "list", "--data-dir", data_dir],
    }
    code, out, _ = phantom(capsys, *arguments[where])
    assert code == 0 and RUN_A in out and RUN_B in out


def test_list_by_project(
    storage: AuditStorage, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = phantom(capsys, "audit", "list", "--project", "kitchen", "--data-dir", data_dir)
    assert code == 0
    assert RUN_B in out and RUN_A not in out
    code, out, err = phantom(capsys, "audit", "list", "--project", "attic", "--data-dir", data_dir)
    assert (code, out) == (0, "")
    assert "no runs of project 'attic'" in err


# -- show ------------------------------------------------------------------------------------


def test_show_prints_the_run_and_its_events(
    storage: AuditStorage, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = phantom(capsys, "audit", "show", RUN_A, "--data-dir", data_dir)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"run {RUN_A}"
    assert "  name:     Veiled Voices" in lines
    assert '  medium:   "ouija"' in lines
    assert "  status:   running" in lines
    first = next(line for line in lines if line.lstrip().startswith("#1 "))
    assert "phase_started phase 1 seance/phase from seance" in first
    assert '\\"friend\\"' in first  # the payload as JSON, on one line
    assert any(line.lstrip().startswith("#2 ") and '"level": 9' in line for line in lines)
    assert not any(line.lstrip().startswith("#3 ") for line in lines)  # another run's
    record = next(line for line in lines if line.lstrip().startswith("#5 "))
    assert "audit_updated audit/run from audit" in record and '"medium": "ouija"' in record
    assert lines[-1] == "3 events"


def test_show_json_is_one_document(
    storage: AuditStorage, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = phantom(capsys, "audit", "show", RUN_A, "--json", "--data-dir", data_dir)
    assert code == 0
    document = json.loads(out)
    assert document["run"]["name"] == "Veiled Voices"
    assert document["run"]["medium"] == "ouija"
    assert document["events"] == storage.get_events(audit_id=RUN_A)


def test_show_json_of_a_run_without_events_of_its_own(
    storage: AuditStorage, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage.save_audit({"id": "quiet"})
    code, out, _ = phantom(capsys, "audit", "show", "quiet", "--json", "--data-dir", data_dir)
    assert code == 0
    [record] = json.loads(out)["events"]  # only its row, as chained when it was saved
    assert (record["type"], record["data"]["run"]["id"]) == ("audit_updated", "quiet")


def test_show_events_whose_run_was_never_saved(
    storage: AuditStorage, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = phantom(capsys, "audit", "show", "orphan", "--data-dir", data_dir)
    assert code == 0
    assert "not in the runs table" in out and "no run saved" in out and out.endswith("1 event\n")


def test_show_an_unknown_run_names_it_and_the_log(
    storage: AuditStorage, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = phantom(capsys, "audit", "show", "nobody", "--data-dir", data_dir)
    assert (code, out) == (1, "")
    assert "'nobody'" in err and str(storage.database_path) in err


# -- export ----------------------------------------------------------------------------------


def test_export_a_run_as_json_lines(
    storage: AuditStorage, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = phantom(capsys, "audit", "export", RUN_A, "--data-dir", data_dir)
    assert (code, err) == (0, "")
    assert [json.loads(line) for line in out.splitlines()] == storage.get_events(audit_id=RUN_A)


def test_export_all_as_csv(
    storage: AuditStorage, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = phantom(
        capsys, "audit", "export", "all", "--format", "csv", "--data-dir", data_dir
    )
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == [
        "seq", "id", "type", "timestamp", "audit_id", "phase", "topic", "source", "data"
    ]  # fmt: skip
    events = storage.get_events()
    assert len(rows) == 1 + len(events) == 8
    for row, event in zip(rows[1:], events, strict=True):
        assert row[:5] == [
            str(event["seq"]), event["id"], event["type"], event["timestamp"], event["audit_id"]
        ]  # fmt: skip
        assert row[5:8] == [
            "" if event[k] is None else str(event[k]) for k in ("phase", "topic", "source")
        ]
        assert json.loads(row[8]) == event["data"]  # quotes, commas and newlines survive


def test_export_to_a_file(
    storage: AuditStorage, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out" / "brew.csv"
    target.parent.mkdir()
    code, out, _ = phantom(
        capsys, "audit", "export", RUN_B, "--format", "csv", "-o", target, "--data-dir", data_dir
    )
    assert (code, out) == (0, "")
    rows = list(csv.DictReader(target.open(newline="", encoding="utf-8")))
    assert [(r["seq"], r["type"], r["phase"]) for r in rows] == [
        ("3", "generation", "3"),
        ("6", "audit_updated", ""),
        ("7", "audit_updated", ""),
    ]
    assert os.listdir(target.parent) == ["brew.csv"]  # no temporary file left behind


def test_export_to_a_missing_folder_fails_naming_it(
    storage: AuditStorage, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "nowhere" / "all.jsonl"
    code, _, err = phantom(capsys, "audit", "export", "all", "-o", target, "--data-dir", data_dir)
    assert code == 1
    assert str(target) in err
    assert not target.parent.exists()


def test_export_an_unknown_run_fails_and_writes_no_file(
    storage: AuditStorage, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "nobody.jsonl"
    code, out, err = phantom(
        capsys, "audit", "export", "nobody", "-o", target, "--data-dir", data_dir
    )
    assert (code, out) == (1, "")
    assert "'nobody'" in err
    assert not target.exists()


def test_export_streams_instead_of_loading_the_log(
    storage: AuditStorage,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    storage.append_events(
        [{"type": "haunt", "audit_id": RUN_A, "data": {"n": n}} for n in range(3000)]
    )
    yielded = []
    real_iter = AuditStorage.iter_events

    def counting(self: AuditStorage, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        for record in real_iter(self, *args, **kwargs):
            yielded.append(record["seq"])
            yield record

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("export loaded the whole log")

    monkeypatch.setattr(AuditStorage, "iter_events", counting)
    monkeypatch.setattr(AuditStorage, "get_events", refuse)
    monkeypatch.setattr(AuditStorage, "matching_seqs", refuse)
    seen_at_first_write: list[int] = []

    class Watching(io.StringIO):
        def write(self, text: str) -> int:
            if not seen_at_first_write:
                seen_at_first_write.append(len(yielded))
            return super().write(text)

    watching = Watching()
    monkeypatch.setattr("sys.stdout", watching)
    assert main(["audit", "export", "all", "--data-dir", str(data_dir)]) == 0
    assert len(watching.getvalue().splitlines()) == len(yielded) == 3007
    assert seen_at_first_write == [1]  # the first line went out before the second was read


# -- verify ----------------------------------------------------------------------------------


def test_verify_a_clean_log_says_it_was_checked_without_the_verification_key(
    storage: AuditStorage, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = phantom(capsys, "audit", "verify", "--data-dir", data_dir)
    assert (code, err) == (0, "")
    verdict, note = out.splitlines()
    assert verdict == "OK: 7 records verified"
    assert note.startswith("checked without the verification key") and "--key FILE" in note


def test_verify_with_the_verification_key(
    storage: AuditStorage, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "kept-elsewhere.key"
    assert storage.new_verification_key is not None
    key.write_text(storage.new_verification_key.to_text())
    code, out, err = phantom(capsys, "audit", "verify", "--key", key, "--data-dir", data_dir)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "OK: 7 records verified",
        "the newest 7 records (epoch 0, not sealed yet) are only as safe as the sealing key "
        "beside the log",
    ]
    storage.seal()  # as the app does when it stops: the key moves on
    code, out, err = phantom(capsys, "audit", "verify", "--key", key, "--data-dir", data_dir)
    assert (code, out, err) == (0, "OK: 7 records verified\n", "")


def test_verify_with_another_logs_key_or_no_key_at_all_is_exit_2(
    storage: AuditStorage, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.key"
    other.write_text(VerificationKey.new("another-chain").to_text())
    code, out, err = phantom(capsys, "audit", "verify", "--key", other, "--data-dir", data_dir)
    assert (code, out) == (2, "")
    assert "another log" in err
    garbage = tmp_path / "garbage.key"
    garbage.write_text("boo")
    code, out, err = phantom(capsys, "audit", "verify", "--key", garbage, "--data-dir", data_dir)
    assert (code, out) == (2, "")
    assert str(garbage) in err and "not a Phantom audit verification key" in err
    missing = tmp_path / "missing.key"
    code, out, err = phantom(capsys, "audit", "verify", "--key", missing, "--data-dir", data_dir)
    assert (code, out) == (2, "")
    assert str(missing) in err


def test_verify_a_tampered_log_names_the_record(
    storage: AuditStorage, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = sqlite3.connect(storage.database_path)
    raw.execute("UPDATE events SET data = '{\"level\": 1}' WHERE seq = 2")
    raw.commit()
    raw.close()
    code, out, _ = phantom(capsys, "audit", "verify", "--data-dir", data_dir)
    assert code == 1
    assert out.startswith("TAMPERED at record 2:")


def test_verify_a_missing_log_is_exit_2_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "empty"
    code, out, err = phantom(capsys, "audit", "verify", "--data-dir", data_dir)
    assert (code, out) == (2, "")
    assert f"no audit log at {data_dir / 'audit' / 'audit.sqlite3'}" in err
    assert not data_dir.exists()


@pytest.mark.parametrize("command", [["verify"], ["list"], ["show", RUN_A], ["export", "all"]])
def test_a_corrupt_database_is_exit_2_naming_it(
    data_dir: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    database = data_dir / "audit" / "audit.sqlite3"
    database.parent.mkdir(parents=True)
    database.write_bytes(os.urandom(4096))
    (database.parent / "audit.key").write_bytes(os.urandom(32))
    code, out, err = phantom(capsys, "audit", *command, "--data-dir", data_dir)
    assert (code, out) == (2, "")
    assert str(database) in err and "file is not a database" in err


def test_a_missing_sealing_key_is_exit_2_for_verify_only_and_no_new_key_is_made(
    storage: AuditStorage, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = storage.root / "audit.sealing-key"
    key.unlink()
    code, _, err = phantom(capsys, "audit", "verify", "--data-dir", data_dir)
    assert code == 2
    assert str(key) in err and "missing" in err and "--key FILE" in err
    assert not key.exists()
    assert phantom(capsys, "audit", "list", "--data-dir", data_dir)[0] == 0  # reading works
    kept = tmp_path / "kept.key"
    assert storage.new_verification_key is not None
    kept.write_text(storage.new_verification_key.to_text())
    code, out, _ = phantom(capsys, "audit", "verify", "--key", kept, "--data-dir", data_dir)
    assert code == 0 and out.startswith("OK: 7 records verified\n")
    assert not key.exists()


def test_a_garbled_head_file_is_exit_2_naming_it(
    storage: AuditStorage, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = storage.root / "audit.head.json"
    head.write_text("{ this is not json")
    code, out, err = phantom(capsys, "audit", "verify", "--data-dir", data_dir)
    assert (code, out) == (2, "")
    assert str(head) in err


def test_an_action_is_required(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["audit", "--data-dir", str(data_dir)])
    assert exit_.value.code == 2
    assert "ACTION" in capsys.readouterr().err
