"""The coven: Phantom instances that share one hub through an MQTT broker (no Qt)."""
