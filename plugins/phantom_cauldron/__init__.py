"""The cauldron: live MQTT sensors in charts with anomaly alarms (a built-in haunt pack)."""
