"""Qt-free core: the event hub, errors, resilience, logging and settings."""
