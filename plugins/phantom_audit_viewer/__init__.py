"""The audit log viewer: a built-in haunt pack over Phantom's tamper-evident history."""
