"""The Coven panel plugin: follows the app's ``coven`` service in a `CovenViewModel`."""

from __future__ import annotations

import asyncio
from typing import Any

from phantom_coven.service import CovenAccess
from phantom_coven.view_model import CovenViewModel
from phantom_gui.core.events import SpectralEvent
from phantom_gui.plugins.context import PluginContext


class CovenPanelPlugin:
    """Coven: who is in the coven, what crosses, what is refused; join or leave."""

    context: PluginContext
    model: CovenViewModel
    loop: asyncio.AbstractEventLoop

    async def init(self, context: PluginContext) -> None:
        """Follow the service's states until teardown."""
        self.context = context
        self.loop = context.hub.loop
        service: CovenAccess = context.service("coven")
        self.model = CovenViewModel(service)
        context.owned(service.states()).subscribe(self.model.on_state)

    def create_panel(self, parent: Any) -> Any:
        """The panel's QWidget (Qt is imported only here)."""
        from phantom_coven._qt.panel import CovenPanel

        return CovenPanel(self.model, self.loop, parent)

    def process(self, event: SpectralEvent) -> None:
        """Nothing: the service's states arrive through the subscription made in `init`."""

    def teardown(self) -> None:
        """Nothing more: the context ends the subscription."""
