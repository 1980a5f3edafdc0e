"""Anomaly models: frozen backbones and the U-Flow normalizing flow. Imports torch: worker processes only."""
