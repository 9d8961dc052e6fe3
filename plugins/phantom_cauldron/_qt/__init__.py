"""The cauldron's Qt views (pyqtgraph charts, topic tree)."""
