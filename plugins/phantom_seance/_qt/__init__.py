"""The séance's Qt views (the vispy shadow realm, the panel, the audio devices dialog)."""
