"""The embedded default: with no broker configured, a simulated cauldron on a local broker.

The simulator publishes on a broker started for the run, and the app reads it through a
session connection like any other, so its readings take the same path as real ones.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

from phantom_cauldron.brewing.commands import BREW_TOPIC
from phantom_cauldron.brewing.simulated import SimulatedBrewing
from phantom_cauldron.simulator.faults import random_faults
from phantom_cauldron.simulator.model import CauldronSimulator
from phantom_cauldron.simulator.runner import SimulatorRunner
from phantom_cauldron.simulator.sensors import SENSORS
from phantom_gui.mqtt.embedded import EmbeddedBroker
from phantom_gui.mqtt.service import MqttService

CONNECTION_ID = "simulated-cauldron"
CONNECTION_NAME = "Simulated cauldron"
FAULTS_TOPIC = "cauldron/simulator/faults"
"""The anomalies the simulator will inject (its ground truth), recorded in the audit log."""
PERIOD_S = 1.0
FAULT_HORIZON_S = 24 * 3600.0
SETTLE_S = 120.0
MEAN_FAULT_GAP_S = 300.0
QUIET_S = 120.0


class Simulation:
    """A running simulated cauldron: its broker, the simulator's devices, its ear for
    brewing commands, the connection."""

    def __init__(
        self,
        mqtt: MqttService,
        broker: EmbeddedBroker,
        runner: SimulatorRunner,
        brewing: SimulatedBrewing,
        seed: int,
    ) -> None:
        self._mqtt = mqtt
        self.broker = broker
        self.runner = runner
        self.brewing = brewing
        self.seed = seed

    @classmethod
    async def start(
        cls,
        mqtt: MqttService,
        publish: Callable[[str, Any], Any],
        *,
        seed: int | None = None,
        period: float = PERIOD_S,
        brew_topic: str = BREW_TOPIC,
    ) -> Simulation:
        """Start a broker, the simulator publishing on it and following the brews told on
        `brew_topic`, and a session connection to it.

        Raises `MosquittoNotFound` (saying what to install) when there is no broker binary.
        """
        seed = random.SystemRandom().randrange(2**32) if seed is None else seed
        broker = await asyncio.to_thread(EmbeddedBroker.start)
        now = time.time()
        faults = random_faults(
            seed,
            SENSORS,
            now,
            FAULT_HORIZON_S,
            settle_s=SETTLE_S,
            mean_gap_s=MEAN_FAULT_GAP_S,
            quiet_s=QUIET_S,
        )
        brewing = SimulatedBrewing(broker.host, broker.port, brew_topic)
        runner = SimulatorRunner(
            CauldronSimulator(seed, now, faults),
            broker.host,
            broker.port,
            period,
            stepper=brewing.advance,
        )
        brewing.start()
        runner.start()
        mqtt.add_session(broker.connection_config(CONNECTION_ID, CONNECTION_NAME))
        publish(
            FAULTS_TOPIC,
            {
                "seed": seed,
                "faults": [
                    {
                        "sensor_id": fault.sensor_id,
                        "kind": fault.kind,
                        "start": fault.start,
                        "end": fault.end,
                        "size": fault.size,
                    }
                    for fault in faults
                ],
            },
        )
        return cls(mqtt, broker, runner, brewing, seed)

    async def stop(self) -> None:
        """Stop the simulator and its brewing, drop its connection and stop the broker."""
        try:
            await asyncio.to_thread(self.runner.stop)
            await asyncio.to_thread(self.brewing.stop)
            await self._mqtt.remove(CONNECTION_ID)
        finally:
            await asyncio.to_thread(self.broker.stop)
