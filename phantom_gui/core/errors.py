"""The error family of Phantom, with the seed's spooky names."""

from __future__ import annotations


class PhantomError(Exception):
    """Base of every error Phantom raises on purpose."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source


class ManifestationError(PhantomError):
    """A plugin could not be loaded or initialised (the haunt failed to manifest)."""


class DisturbanceError(PhantomError):
    """Processing one item of a stream failed; the stream itself goes on."""


class BanishmentError(PhantomError):
    """A security rule refused an action: a permission, a token or a rate limit."""


class RealmCollapse(PhantomError):
    """A critical failure the app cannot recover from by itself."""


class CircuitOpenError(DisturbanceError):
    """A call was refused because its circuit breaker is open after repeated failures."""
