"""MQTT connections, Qt-free: paho on its own thread, messages handed to the hub."""
