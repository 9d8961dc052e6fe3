"""The worker process of an evolution: ``python -m phantom_cauldron.evolution.worker``.

Over its channel the app sends an `EvolutionJob`, then ``("cancel",)`` or, when asked,
``("conditions", Conditions)``. The worker sends ``("generation", GenerationProgress)``
after each generation, ``("resample", gen)`` when it wants new conditions (and waits for
them), and ``("finished", EvolutionFinished)`` last; then it exits.

The app starts a worker before it has a job for it (a spare): everything the job needs
is imported before the worker waits, so the job starts at once. A worker whose channel
ends before a job came exits quietly.
"""

from __future__ import annotations

import importlib
import traceback

from phantom_cauldron.evolution.job import EvolutionJob, run_job
from phantom_cauldron.evolution.progress import EvolutionFinished, GenerationProgress
from phantom_cauldron.recipes.effects import Conditions
from phantom_gui.core.channel import Channel
from phantom_gui.core.children import orphaned, parent_channel

LAZY_IMPORTS = ("numpy.random",)
"""Modules a job imports only when it runs; the worker imports them before it waits."""


class _Worker:
    def __init__(self, channel: Channel, conditions: Conditions) -> None:
        self.channel = channel
        self.conditions = conditions
        self.cancelled = False

    def take(self, message: tuple[object, ...]) -> Conditions | None:
        """Note a cancel; the conditions of a conditions message."""
        if message[0] == "cancel":
            self.cancelled = True
        elif message[0] == "conditions" and isinstance(message[1], Conditions):
            return message[1]
        return None

    def should_stop(self) -> bool:
        while not self.cancelled and self.channel.poll(0):
            self.take(self.channel.receive())
        return self.cancelled

    def resample(self, gen: int) -> Conditions:
        self.channel.send(("resample", gen))
        while not self.cancelled:
            conditions = self.take(self.channel.receive())
            if conditions is not None:
                self.conditions = conditions
                break
        return self.conditions

    def report(self, progress: GenerationProgress) -> None:
        self.channel.send(("generation", progress))


def main() -> None:
    """Run the job the app sends, then exit."""
    channel = parent_channel()
    for module in LAZY_IMPORTS:
        importlib.import_module(module)
    try:
        job: EvolutionJob = channel.receive()
        worker = _Worker(channel, job.conditions)
        try:
            finished = run_job(job, worker.report, worker.should_stop, worker.resample)
        except (EOFError, OSError):
            raise
        except Exception as error:
            traceback.print_exc()
            finished = EvolutionFinished(
                job.run, None, (), (), error=f"{type(error).__name__}: {error}"
            )
        channel.send(("finished", finished))
    except (EOFError, OSError):
        orphaned()
    finally:
        channel.close()


if __name__ == "__main__":
    main()
