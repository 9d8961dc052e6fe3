"""A desktop-like coven member in its own process: joins COVEN through BROKER_URL as a
`user` named NAME (the coven secret from the environment), asks the first worker offered
to run an evolution of GENERATIONS generations, and prints ``run <id>`` then
``generation <n>`` for each of that run's generations heard, until killed.

    python tests/support/requester.py COVEN BROKER_URL NAME GENERATIONS DATA_DIR
"""

from __future__ import annotations

import asyncio
import functools
import sys
from pathlib import Path

from phantom_cauldron.evolution.progress import EvolutionSettings
from phantom_cauldron.evolution.remote import RemoteEvolutions
from phantom_cauldron.recipes.effects import Conditions
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.settings import Settings
from phantom_gui.coven.service import CONNECTION_ID, CovenService
from phantom_gui.mqtt.config import parse_broker_url
from phantom_gui.mqtt.service import MqttService

CONDITIONS = Conditions(temperature=61.0, humidity=45.0, ph=5.5, mystical_energy=0.8)


def heard(event: SpectralEvent) -> None:
    data = event.data
    if isinstance(data, dict):
        print(f"generation {data['record']['gen']}", flush=True)


async def main(coven: str, url: str, name: str, generations: int, data: Path) -> None:
    hub = EventHub(asyncio.get_running_loop())
    settings = Settings(data / "settings.json")
    mqtt = MqttService(hub, settings)
    service = CovenService(hub, mqtt, settings)
    await service.join(coven, broker=parse_broker_url(url), role="user", member_name=name)
    mqtt.connect(CONNECTION_ID)
    publish = functools.partial(hub.publish, source="requester")
    remote = RemoteEvolutions(service, publish, lambda: CONDITIONS)
    while not remote.workers():
        await asyncio.sleep(0.1)
    evolution = EvolutionSettings(population=200, generations=generations, seed=5)
    run = remote.start(evolution, remote.workers()[0].instance)
    hub.on(f"cauldron/evolution/{run}/generation").subscribe(heard)
    print(f"run {run}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    coven, url, name, generations, data = sys.argv[1:]
    asyncio.run(main(coven, url, name, int(generations), Path(data)))
