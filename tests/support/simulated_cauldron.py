"""A simulated cauldron that follows brewing commands, on a broker the test started: at
room temperature with the heater off, without ingredients of its own, at `speed` times
real time, until the context ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from phantom_cauldron.brewing.simulated import SimulatedBrewing
from phantom_cauldron.simulator.model import CauldronSimulator
from phantom_cauldron.simulator.physics import PhysicsSettings
from phantom_cauldron.simulator.runner import SimulatorRunner

START = 1_795_010_400.0
"""15:00 UTC, when the room is warmest and its temperature stands still."""
PHYSICS = PhysicsSettings(ingredients_per_hour=1e-9)
"""No random ingredients of the simulator's own."""
PERIOD_S = 0.05


@contextmanager
def simulated_cauldron(
    host: str, port: int, topic: str, speed: float, seed: int = 7
) -> Iterator[SimulatorRunner]:
    """Run the cauldron, publishing on `host:port` and following the brews told on `topic`."""
    simulator = CauldronSimulator(seed, START, physics=PHYSICS)
    simulator.cauldron.heater_enabled = False
    simulator.cauldron.temperature = simulator.cauldron.room_temperature()
    brewing = SimulatedBrewing(host, port, topic)
    runner = SimulatorRunner(simulator, host, port, PERIOD_S, speed=speed, stepper=brewing.advance)
    brewing.start()
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()
        brewing.stop()
