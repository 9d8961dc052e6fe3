"""Channels within the test process: both ends of the pipes a child and the app would hold."""

from __future__ import annotations

import os

from phantom_gui.core.channel import Channel


def channel_pair() -> tuple[Channel, Channel]:
    """Two connected ends: what one sends, the other receives, both ways."""
    first_reads, second_writes = os.pipe()
    second_reads, first_writes = os.pipe()
    return Channel(first_reads, first_writes), Channel(second_reads, second_writes)
