"""The coven: several Phantom instances sharing hub topics through an MQTT broker.

Qt-free. `auth` verifies the tokens every remote event carries and the rights of each
role on the hub's topics.
"""
