"""The simulated cauldron's ear for brewing commands: a client on the command topic that
hands each brew to a `BrewFollower` on the simulator's thread and reports its status."""

from __future__ import annotations

import logging
import queue
import time

from paho.mqtt.client import Client, ConnectFlags, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from phantom_cauldron.brewing.commands import (
    BREW_TOPIC,
    BrewCommand,
    BrewCommandError,
    CancelCommand,
    parse_command,
)
from phantom_cauldron.brewing.follower import BrewFollower
from phantom_cauldron.brewing.status import BrewStatus, status_topic
from phantom_cauldron.simulator.model import CauldronSimulator
from phantom_gui.mqtt.clients import PAHO_LOG

LOG = logging.getLogger("phantom.cauldron.brewing")
KEEPALIVE_S = 30
STATUS_QOS = 1


class SimulatedBrewing:
    """Listens on `topic` at `host:port` and follows its brews on the simulator whose
    runner calls `advance` (its stepper); a bad command is refused with a status saying
    why, and the simulator goes on."""

    def __init__(
        self,
        host: str,
        port: int,
        topic: str = BREW_TOPIC,
        client_id: str = "phantom-cauldron-brewer",
    ) -> None:
        self.host = host
        self.port = port
        self.topic = topic
        self.follower = BrewFollower()
        self._heard: queue.SimpleQueue[BrewCommand | CancelCommand] = queue.SimpleQueue()
        self._waiting: list[BrewCommand] = []
        self.client = Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.enable_logger(PAHO_LOG)
        self.client.on_connect = self._connected
        self.client.on_message = self._received

    def start(self) -> None:
        """Connect (paho retries in the background) and listen."""
        self.client.connect_async(self.host, self.port, KEEPALIVE_S)
        self.client.loop_start()

    def stop(self) -> None:
        """Stop listening and disconnect."""
        self.client.disconnect()
        self.client.loop_stop()

    def advance(self, simulator: CauldronSimulator, seconds: float) -> None:
        """Take the commands heard, then advance `simulator` by `seconds` through the brew;
        a brew whose `start` is still ahead (wall clock) waits for it."""
        while not self._heard.empty():
            command = self._heard.get()
            if isinstance(command, CancelCommand):
                waiting = [brew for brew in self._waiting if brew.brew == command.brew]
                if waiting:
                    self._waiting.remove(waiting[0])
                    self._report(BrewStatus(brew=command.brew, state="cancelled"))
                else:
                    self._report(self.follower.cancel(command.brew, simulator))
            else:
                self._waiting.append(command)
        now = time.time()
        for brew in [brew for brew in self._waiting if brew.start <= now]:
            self._waiting.remove(brew)
            refusal = self.follower.begin(brew, simulator.time)
            if refusal is not None:
                self._report(refusal)
        for status in self.follower.advance(simulator, seconds):
            self._report(status)

    def _report(self, status: BrewStatus) -> None:
        LOG.info("brew %s: %s", status.brew, status.model_dump(exclude_none=True))
        self.client.publish(status_topic(self.topic), status.payload(), STATUS_QOS)

    def _connected(
        self,
        client: Client,
        userdata: object,
        flags: ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if not reason.is_failure:
            client.subscribe(self.topic, STATUS_QOS)

    def _received(self, client: Client, userdata: object, message: MQTTMessage) -> None:
        try:
            self._heard.put(parse_command(bytes(message.payload)))
        except BrewCommandError as exc:
            LOG.warning("refused a brewing command: %s", exc)
            self._report(BrewStatus(brew=exc.brew, state="refused", reason=str(exc)))
