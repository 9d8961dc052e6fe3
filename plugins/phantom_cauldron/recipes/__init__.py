"""Potion recipes: their ingredients and steps, the ingredient catalogue, the effect model
that predicts what a recipe does to the cauldron, and recipes as JSON files."""
