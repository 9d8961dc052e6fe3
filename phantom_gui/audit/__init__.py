"""Qt-free audit log: crash-safe, tamper-evident storage of what happened, and its replay."""
