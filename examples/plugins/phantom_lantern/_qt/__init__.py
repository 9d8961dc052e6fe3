"""The lantern's Qt panel."""
