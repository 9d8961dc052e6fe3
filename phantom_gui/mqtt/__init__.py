"""MQTT connections, Qt-free: paho in a network process per connection (or on a thread),
messages handed to the hub."""
