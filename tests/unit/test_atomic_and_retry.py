"""The one atomic-write helper and the one retry helper the app's modules share."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from phantom_gui.core.atomic import atomic_text_file, write_atomically
from phantom_gui.core.resilience import Backoff, RetryPolicy, retry_async, retry_call


def test_a_file_appears_whole_and_private(tmp_path: Path) -> None:
    target = tmp_path / "export.csv"
    with atomic_text_file(target) as handle:
        handle.write("a,b\n")
        assert not target.exists()
        handle.write("1,2\n")
    assert target.read_text(encoding="utf-8") == "a,b\n1,2\n"
    assert target.stat().st_mode & 0o077 == 0
    assert os.listdir(tmp_path) == ["export.csv"]


def test_an_error_halfway_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "settings.json"
    write_atomically(target, "old")
    with pytest.raises(RuntimeError), atomic_text_file(target) as handle:
        handle.write("new, but only half")
        raise RuntimeError("crash")
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["settings.json"]


def test_exclusive_keeps_the_first_writers_file(tmp_path: Path) -> None:
    target = tmp_path / "audit.key"
    write_atomically(target, b"first", exclusive=True)
    with pytest.raises(FileExistsError):
        write_atomically(target, b"second", exclusive=True)
    assert target.read_bytes() == b"first"
    assert os.listdir(tmp_path) == ["audit.key"]


def _flaky(failures: list[Exception], result: str = "done") -> tuple[list[int], object]:
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return result

    return calls, call


def test_retry_call_retries_what_the_policy_allows_and_waits_longer_each_time() -> None:
    calls, call = _flaky([OSError("busy"), OSError("busy")])
    waits: list[float] = []
    retried: list[tuple[int, str, float]] = []
    policy = RetryPolicy(retries=3, backoff=Backoff(base=0.1))

    result = retry_call(
        call,  # type: ignore[arg-type]
        policy,
        sleep=waits.append,
        on_retry=lambda n, error, delay: retried.append((n, str(error), delay)),
    )

    assert result == "done" and len(calls) == 3
    assert waits == [0.1, 0.2]
    assert retried == [(1, "busy", 0.1), (2, "busy", 0.2)]


def test_an_error_the_policy_does_not_retry_is_raised_at_once() -> None:
    calls, call = _flaky([ImportError("no module named ghost")])
    policy = RetryPolicy(retries=3, retry_on=lambda error: not isinstance(error, ImportError))
    with pytest.raises(ImportError, match="ghost"):
        retry_call(call, policy, sleep=lambda _: None)  # type: ignore[arg-type]
    assert len(calls) == 1


def test_retries_stop_at_the_count_and_at_the_deadline() -> None:
    calls, call = _flaky([OSError(n) for n in range(10)])
    with pytest.raises(OSError):
        retry_call(call, RetryPolicy(retries=2), sleep=lambda _: None)  # type: ignore[arg-type]
    assert len(calls) == 3

    now = [0.0]
    calls, call = _flaky([OSError(n) for n in range(10)])
    policy = RetryPolicy(retries=100, backoff=Backoff(base=1.0, factor=1.0), deadline_s=3.5)

    def sleep(delay: float) -> None:
        now[0] += delay

    with pytest.raises(OSError):
        retry_call(call, policy, sleep=sleep, clock=lambda: now[0])  # type: ignore[arg-type]
    assert len(calls) == 5  # tried at 0, 1, 2, 3 and 4 s; past the deadline it gives up


def test_retry_async_waits_without_blocking_and_succeeds() -> None:
    attempts: list[int] = []
    waits: list[float] = []

    async def load() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("not yet")
        return "loaded"

    async def sleep(delay: float) -> None:
        waits.append(delay)

    result = asyncio.run(
        retry_async(load, RetryPolicy(retries=3, backoff=Backoff(base=0.5)), sleep=sleep)
    )
    assert result == "loaded" and waits == [0.5, 1.0]
