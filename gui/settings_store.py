"""What the app remembers between sessions (QSettings): window layout, recent files, settings."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 8


class SettingsStore:
    """Typed access to the app's QSettings; every read tolerates a missing or damaged value."""

    def __init__(self, settings: QSettings | None = None) -> None:
        self._settings = settings if settings is not None else QSettings()

    def recent_files(self) -> list[Path]:
        value = self._settings.value("recentFiles", [])
        if isinstance(value, str):
            value = [value]
        return [Path(p) for p in value or [] if p]

    def add_recent_file(self, path: Path) -> list[Path]:
        path = Path(path).resolve()
        recent = [path] + [p for p in self.recent_files() if p != path]
        recent = recent[:MAX_RECENT]
        self._settings.setValue("recentFiles", [str(p) for p in recent])
        return recent

    def training_settings(self) -> dict:
        """The last training settings as a plain dict ({} when none or unreadable)."""
        text = self._settings.value("training/settings", "")
        try:
            value = json.loads(text) if text else {}
        except (TypeError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def save_training_settings(self, values: dict) -> None:
        self._settings.setValue("training/settings", json.dumps(values))

    def window_state(self) -> tuple[QByteArray | None, QByteArray | None, QByteArray | None]:
        """(geometry, main window state, splitter state), each None when not saved."""
        return tuple(
            value if isinstance(value, QByteArray) else None
            for value in (
                self._settings.value("window/geometry"),
                self._settings.value("window/state"),
                self._settings.value("window/splitter"),
            )
        )

    def save_window_state(self, geometry: QByteArray, state: QByteArray, splitter: QByteArray):
        self._settings.setValue("window/geometry", geometry)
        self._settings.setValue("window/state", state)
        self._settings.setValue("window/splitter", splitter)

    def sync(self) -> None:
        self._settings.sync()
