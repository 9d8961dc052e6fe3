"""The Hub Monitor's Qt views."""
