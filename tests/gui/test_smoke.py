from __future__ import annotations

from gui.app import create_main_window


def test_main_window_opens_and_closes(qtbot):
    window = create_main_window()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle().startswith("GPU Trainer")
    assert window.close()


def test_open_sample_loads_a_bundled_csv(qtbot, sample_dir):
    window = create_main_window()
    qtbot.addWidget(window)
    path = sorted(sample_dir.glob("*.csv"))[0]
    assert window.load_csv(path)
    assert window.current_path == path
