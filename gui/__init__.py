"""GPU Trainer's Qt desktop application.

Importing this package loads no Qt: ``gui.launcher`` dispatches headless subcommands to
``engine.cli`` before anything imports PySide6.
"""

import os

# Before any QApplication: Qt's raster engine otherwise hands large fills to a pool of helper
# threads and waits for them. While training uses every core, those helpers compete with the
# training's BLAS threads and the hand-off costs more than the fill (measured with
# scripts/bench_gui.py). Qt checks only that the variable exists (any value, even 0, turns the
# pool off), once, when it first needs the pool.
os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
