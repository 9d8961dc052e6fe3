"""Helpers the test suite shares: real services started and stopped by PID."""
