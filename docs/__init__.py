"""The guides shipped with Phantom, which Help › User Guide opens (importable as
phantom_gui.docs)."""
