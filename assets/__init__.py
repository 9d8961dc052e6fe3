"""Files shipped with Phantom: the theme, icons and catalogues (importable as phantom_gui.assets)."""
