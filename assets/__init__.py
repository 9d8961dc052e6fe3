"""Files shipped with Phantom: theme, icons, catalogues (importable as phantom_gui.assets)."""
