"""The Audit Log viewer's Qt views."""
