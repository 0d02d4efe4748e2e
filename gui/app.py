"""Application start-up: the QApplication, the main window, the event loop."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

APP_NAME = "GPU Trainer"
ORG_NAME = "GPU Trainer"


def ensure_app() -> QApplication:
    """The running QApplication, created on first use with the app's names set."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    _collect_garbage_in_this_thread()
    return app


_collector = None


def _collect_garbage_in_this_thread() -> None:
    """Python's cycle collector runs in whichever thread allocates; when it frees Qt objects
    in the training worker or the hardware sampler thread, Qt's destructor waits for a lock
    the GUI thread holds while it waits for the GIL, and the app hangs (seen in the GUI tests
    with menus in the new tabs). pyqtgraph's collector turns automatic collection off and
    collects on a timer in the GUI thread instead."""
    global _collector
    if _collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _collector = GarbageCollector(interval=1.0)


def create_main_window():
    """A ready main window without data and without starting the event loop (tests call this).

    ``run_app`` then opens the start-up data: the files given, else the most recent file,
    else the bundled breast-cancer sample.
    """
    from gui.main_window import MainWindow

    ensure_app()
    return MainWindow()


def run_app(argv: list[str] | None = None) -> int:
    app = ensure_app()
    window = create_main_window()
    window.show()
    if argv:
        window.load_csv_async(argv[0])
    else:
        window.open_startup_data()
    return app.exec()
