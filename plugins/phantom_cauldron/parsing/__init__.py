"""Turning MQTT payloads from real devices into sensor readings."""
