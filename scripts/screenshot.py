"""Save a screenshot of the main window mid-training, for the README.

    QT_QPA_PLATFORM=offscreen python scripts/screenshot.py [docs/screenshot.png]

Opens the bundled churn sample, trains, and grabs the window once it has trained for
``SECONDS`` (so the hardware plots have a history) and at least 20 epochs.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.data.samples import sample_paths  # noqa: E402
from engine.run.settings import LayerSpec  # noqa: E402
from gui.app import create_main_window, ensure_app  # noqa: E402

SECONDS = 8.0


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "docs" / "screenshot.png"
    app = ensure_app()
    with tempfile.TemporaryDirectory() as settings_dir:
        # A throwaway settings location: the screenshot never depends on (or changes) the user's.
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
        ok = shoot(app, out)
    print(f"saved {out}" if ok else f"could not save {out}")
    return 0 if ok else 1


def shoot(app, out: Path) -> bool:
    window = create_main_window()
    window.resize(1400, 880)
    window.show()
    # the churn sample shows the most: text columns, gaps, an identifier the app ignores
    sample = next(p for p in sample_paths() if p.name == "customer_churn.csv")
    if not window.load_csv(sample, target="churned"):
        print(window.errors, file=sys.stderr)
        return False
    # a small regularised network, so the curves stay readable over hundreds of epochs
    window.model_panel.set_layers([LayerSpec(32, "relu", 0.2), LayerSpec(16, "relu", 0.2)])
    window.settings_panel.set_values(
        {"epochs": 2000, "batch_size": 32, "learning_rate": 3e-4, "l2": 1e-3, "early_stopping": 0}
    )
    epochs_seen = [0]
    window.session.progress.connect(lambda batch: epochs_seen.__setitem__(0, batch["epoch"]))
    window.train()
    started = time.monotonic()
    # far enough for the curves and the hardware plots to show a history
    while (epochs_seen[0] < 20 or time.monotonic() - started < SECONDS) and window.is_training():
        wait(100)
    if not window.is_training():
        print("training ended before the screenshot", file=sys.stderr)
        return False
    window.live.flush()
    app.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(out), "PNG")
    window.stop()
    window.close()
    return ok


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
