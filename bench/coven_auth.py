"""Coven token checks per second: cold, cached, and a bare `jwt.decode`, in the same run.

Run from the repository root::

    .venv/bin/python bench/coven_auth.py            # 5 repeats (~10 s)
    .venv/bin/python bench/coven_auth.py --quick    # 3 shorter repeats

Every figure is the median of the repeats, interleaved so noise hits a figure and its
baseline alike; the script always exits 0.

(a) bare `jwt.decode` of one HS256 token with the secret, `algorithms=["HS256"]`: the
    baseline, what checking a token costs without Phantom;
(b) `AuthService.verify` cold: a fresh token each time (header checks, key lookup by
    kid, `jwt.decode`, the claims checked), as the first event of a sender's session;
(c) `AuthService.verify` cached: the same token again, as every later event;
(d) `AuthService.authorize` cached: (c) plus the role's rights on the event's topic.
Goal: (c) at least 20x (a): a sender's session costs one signature check, not one per event.
The same rows for RS256 (2048-bit keys) show what key pairs cost.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from time import perf_counter
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from report import Row, goal_table, interleaved

from phantom_gui.coven.auth import AuthService

SECRET = "a benchmark coven secret, 32 bytes or more"
USER = {"name": "bench", "role": "user"}
TOPIC = "cauldron/reading/cellar"
CACHED_RATIO_GOAL = 20.0
CACHED_FACTOR = 20
"""Cached checks are so fast that they run this many times more calls per repeat."""


def rate(call: Callable[[int], object], count: int) -> float:
    """Calls per second of `call(i)` for i in range(count)."""
    started = perf_counter()
    for index in range(count):
        call(index)
    return count / (perf_counter() - started)


def runners(algorithm: str, count: int) -> dict[str, Callable[[], float]]:
    """The four figures of one algorithm, each a function returning calls per second."""
    if algorithm == "HS256":
        signer = AuthService(SECRET)
        key: Any = SECRET
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        signer = AuthService(algorithm=algorithm, signing_key=private)
        key = private.public_key()

    def verifier() -> AuthService:
        return AuthService(algorithm=algorithm, verification_keys={signer.key_id: key})

    token = signer.generate_token(USER)
    fresh = [signer.generate_token(USER) for _ in range(count)]
    warm = verifier()
    warm.verify(token)

    def cold() -> float:
        service = verifier()
        return rate(lambda i: service.verify(fresh[i]), count)

    return {
        "bare": lambda: rate(lambda _: jwt.decode(token, key, algorithms=[algorithm]), count),
        "cold": cold,
        "cached": lambda: rate(lambda _: warm.verify(token), count * CACHED_FACTOR),
        "authorize": lambda: rate(lambda _: warm.authorize(token, TOPIC), count * CACHED_FACTOR),
    }


def rows(algorithm: str) -> list[Row]:
    """The table rows of one algorithm's figures."""
    bare = f"{algorithm} bare"
    label = f"bare jwt.decode ({algorithm})"
    return [
        Row(label, bare, "checks/s"),
        Row(f"verify, cold ({algorithm})", f"{algorithm} cold", "checks/s", bare, label),
        Row(
            f"verify, cached ({algorithm})",
            f"{algorithm} cached",
            "checks/s",
            bare,
            label,
            min_ratio=CACHED_RATIO_GOAL,
        ),
        Row(f"authorize, cached ({algorithm})", f"{algorithm} authorize", "checks/s", bare, label),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 shorter repeats")
    options = parser.parse_args()
    repeats, count = (3, 500) if options.quick else (5, 2000)
    figures: dict[str, float] = {}
    table: list[Row] = []
    for algorithm in ("HS256", "RS256"):
        measured = interleaved(runners(algorithm, count), repeats)
        figures.update({f"{algorithm} {name}": value for name, value in measured.items()})
        table += rows(algorithm)
    text, passed, missed = goal_table(table, figures)
    print(text)
    print(f"\n{passed} goals passed, {missed} missed ({repeats} repeats, {count} tokens each)")


if __name__ == "__main__":
    main()
