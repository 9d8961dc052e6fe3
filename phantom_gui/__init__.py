"""Phantom: live, slightly spooky simulations on a reactive event hub."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("phantom-gui")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
