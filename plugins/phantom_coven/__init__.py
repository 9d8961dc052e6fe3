"""The Coven panel: the members of a coven, its traffic and refusals (a built-in haunt pack;
Qt only in `_qt`)."""
