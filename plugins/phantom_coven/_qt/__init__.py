"""The Coven panel's Qt views."""
