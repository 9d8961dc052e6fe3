"""A simulated cauldron that publishes like real devices: Home Assistant discovery and
Tasmota telemetry over MQTT, with labelled anomalies for scoring detectors."""
