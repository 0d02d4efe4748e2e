"""Keras-style import path kept for tutorials: ``from engine.models import Sequential``."""

from engine.nn.models import Sequential

__all__ = ["Sequential"]
