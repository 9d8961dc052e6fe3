"""The Qt views: the only part of phantom_gui that imports Qt."""
