"""The coven: several Phantom instances sharing one hub through an MQTT broker (no Qt)."""
