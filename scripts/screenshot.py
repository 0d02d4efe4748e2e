"""Save a screenshot of the main window mid-training, for the README.

    QT_QPA_PLATFORM=offscreen python scripts/screenshot.py [docs/screenshot.png]

Opens the bundled breast-cancer sample, trains, and grabs the window at epoch 250 of 2000.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.samples import sample_paths  # noqa: E402
from gui.app import create_main_window, ensure_app  # noqa: E402


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
    sample = next(p for p in sample_paths() if p.name == "breast_cancer_8.csv")
    if not window.load_csv(sample, target="malignant"):
        print(window.errors, file=sys.stderr)
        return False
    window.settings_panel.epochs_spin.setValue(2000)
    window.settings_panel.batch_size_spin.setValue(16)
    epochs_seen = [0]
    window.session.progress.connect(lambda batch: epochs_seen.__setitem__(0, batch["epoch"]))
    window.train()
    while epochs_seen[0] < 250 and window.is_training():  # far enough for curves to show
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
