"""Hub Monitor: a built-in haunt pack showing the hub's recent events (Qt only in `_qt`)."""
