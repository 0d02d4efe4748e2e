"""Keras-style import path kept for tutorials: ``from engine.layers import Dense``."""

from engine.nn.layers import LAYERS, Dense, Dropout, Layer

__all__ = ["LAYERS", "Dense", "Dropout", "Layer"]
