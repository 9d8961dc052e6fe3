"""Jack-o'-Lantern: an example haunt pack (the Qt panel lives in `_qt`)."""
