"""GPU Trainer's Qt desktop application.

Importing this package loads no Qt: ``gui.launcher`` dispatches headless subcommands to
``engine.cli`` before anything imports PySide6.
"""
