"""What leaves the window as files: the model (also as ONNX), predictions on a CSV, the plots
and the history."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from PySide6.QtCore import QObject

from engine.errors import UserError
from engine.io.atomic import atomic_path
from gui.dialogs import CSV_FILTER, MODEL_FILTER, ONNX_FILTER
from gui.loader import BackgroundTask


def write_csv_atomically(frame: pd.DataFrame, path: Path) -> None:
    """Write to a temporary name beside ``path`` and rename, so no half file is left."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def timeline_frame(history: pd.DataFrame, hardware: pd.DataFrame) -> pd.DataFrame:
    """Epoch rows and hardware-sample rows in one table, ordered by their shared ``time_s``
    (seconds since the start; an epoch row before a sample of the same time): ``time_s``, the
    epoch columns (empty on sample rows), then the hardware columns (empty on epoch rows)."""
    frames = [frame for frame in (history, hardware) if not frame.empty]
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True).sort_values("time_s", kind="stable")
    for name in ("epoch", "step"):  # counts stay whole numbers beside the empty cells
        if name in frame:
            frame[name] = frame[name].astype("Int64")
    return frame[["time_s", *(c for c in frame.columns if c != "time_s")]]


def predict_file(model_path: Path, csv_path: Path, out_path: Path) -> tuple[int, Path]:
    """Run a model file on a CSV and save its rows with the predictions appended, in the
    CSV's own delimiter and decimal mark (as ``gpu-trainer predict`` does)."""
    from engine.io.predictions import write_predictions
    from engine.io.predictor import load_model

    return write_predictions(load_model(model_path), csv_path, out_path)


class ExportActions(QObject):
    """The window's File actions that write files; errors go to ``window.show_error``."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self._window = window
        self._predict = BackgroundTask(self)
        self._predict.done.connect(self._on_predicted)
        self._predict.failed.connect(lambda text: window.show_error("Prediction failed", text))

    @property
    def predicting(self) -> bool:
        return self._predict.running

    def join(self) -> None:
        self._predict.join()

    def export_model(self) -> Path | None:
        path = self._ask_path("Export model", ".safetensors", MODEL_FILTER)
        if path is None:
            return None
        try:
            self._save_model(path)
        except (UserError, OSError) as exc:
            self._window.show_error("Cannot export the model", str(exc))
            return None
        self._window.statusBar().showMessage(f"Model saved to {path}", 10_000)
        return path

    def export_onnx(self) -> Path | None:
        """The trained model as an ONNX graph that takes the raw columns (engine.io.onnx_export)."""
        from engine.io.onnx_export import export_onnx

        path = self._ask_path("Export ONNX", ".onnx", ONNX_FILTER)
        if path is None:
            return None
        # The exporter reads a model file, so the run is saved exactly as "Export model" would.
        with tempfile.TemporaryDirectory() as folder:
            model_path = Path(folder) / "model.safetensors"
            try:
                self._save_model(model_path, recorded=False)  # a temporary file
                export_onnx(model_path, path)
            except (UserError, OSError) as exc:
                self._window.show_error("Cannot export ONNX", str(exc))
                return None
        self._window.statusBar().showMessage(f"ONNX model saved to {path}", 10_000)
        return path

    def _ask_path(self, title: str, suffix: str, file_filter: str) -> Path | None:
        """Where to write the trained model; None when there is none or the user cancels."""
        window = self._window
        if window.session.job is None or window.is_training():
            window.show_error("Nothing to export", "Train a model first, then export it.")
            return None
        suggested = f"{window.current_path.stem}{suffix}" if window.current_path else ""
        path = window.dialogs.save_path(title, suggested, file_filter)
        if not path:
            return None
        path = Path(path)
        return path if path.suffix else path.with_suffix(suffix)

    def _save_model(self, path: Path, recorded: bool = True) -> None:
        window = self._window
        extra = {"hardware": window.hardware_summary}
        threshold = window.evaluation.threshold  # two classes: the Evaluation tab's choice
        if threshold is not None:
            window.session.set_threshold(threshold)
        window.session.save(path, extra_metadata=extra, recorded=recorded)

    def predict_csv(self) -> bool:
        """Ask for a model file, a CSV and where to save; predict off the GUI thread."""
        window = self._window
        if self._predict.running:
            window.show_error("Prediction running", "Wait for the current prediction to finish.")
            return False
        dialogs = window.dialogs
        model = dialogs.open_path("Model file to run", MODEL_FILTER)
        if not model:
            return False
        data = dialogs.open_path("CSV to predict on", CSV_FILTER)
        if not data:
            return False
        data = Path(data)
        out = dialogs.save_path(
            "Save predictions", str(data.with_name(f"{data.stem}_predictions.csv")), CSV_FILTER
        )
        if not out:
            return False
        window.statusBar().showMessage(f"Predicting on {data.name}…")
        self._predict.start(lambda: predict_file(Path(model), data, Path(out)))
        return True

    def _on_predicted(self, result) -> None:
        rows, path = result
        self._window.statusBar().showMessage(f"Saved {rows:,} predictions to {path}", 15_000)

    def export_plots(self) -> Path | None:
        window = self._window
        path = window.dialogs.save_path("Export plots", "training.png", "PNG image (*.png)")
        if not path:
            return None
        path = Path(path).with_suffix(".png")
        image = window.live.plots.grab()
        try:
            with atomic_path(path) as tmp:  # a failed write leaves no partial image
                if not image.save(str(tmp), "PNG"):
                    raise OSError("the image could not be encoded or written")
        except (UserError, OSError) as exc:
            window.show_error("Cannot export the plots", str(exc))
            return None
        return path

    def export_history(self) -> Path | None:
        """The per-epoch history and the hardware samples, interleaved on one time axis
        (:func:`timeline_frame`), as one CSV file."""
        window = self._window
        history = window.live.history_frame()
        if history.empty:
            window.show_error("No history yet", "Train for at least one epoch first.")
            return None
        path = window.dialogs.save_path("Export history", "history.csv", CSV_FILTER)
        if not path:
            return None
        path = Path(path)
        try:
            write_csv_atomically(timeline_frame(history, window.live.hardware_frame()), path)
        except OSError as exc:
            window.show_error("Cannot export the history", f"{path}: {exc.strerror or exc}")
            return None
        return path
