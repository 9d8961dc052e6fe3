"""Channels within the test process: both ends of the pipes a child and the app would hold."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from phantom_gui.core.channel import Channel


@contextmanager
def channel_pair() -> Iterator[tuple[Channel, Channel]]:
    """Two connected ends: what one sends, the other receives, both ways; closed after."""
    first_reads, second_writes = os.pipe()
    second_reads, first_writes = os.pipe()
    first, second = Channel(first_reads, first_writes), Channel(second_reads, second_writes)
    try:
        yield first, second
    finally:
        first.close()
        second.close()
