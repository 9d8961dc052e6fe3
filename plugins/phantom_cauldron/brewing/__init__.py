"""Brewing over MQTT: the commands that tell a cauldron to brew a recipe, the status it
reports back, and the simulated cauldron's side of them."""
