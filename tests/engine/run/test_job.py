"""A training job: evaluating and saving read the weights and change nothing; the best
epoch's weights are put back when the run ends, as its last step."""

from __future__ import annotations

import numpy as np

from engine.data import infer_schema, read_csv
from engine.data.samples import sample_paths
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.run.settings import LayerSpec, TrainSettings


def _job(**settings) -> TrainingJob:
    path = next(p for p in sample_paths() if p.name == "breast_cancer_8.csv")
    table = read_csv(path)
    settings = TrainSettings(layers=[LayerSpec(8)], batch_size=64, **settings)
    return TrainingJob(prepare(table, infer_schema(table.frame, source=table.name), settings),
                       settings)  # fmt: skip


def test_evaluate_and_save_do_not_change_the_weights(tmp_path):
    job = _job(epochs=30, early_stopping=2, learning_rate=0.05)
    for _ in range(job.trainer.steps_per_epoch * 12):  # mid-run, past the best epoch maybe
        if job.trainer.done:
            break
        job.trainer.step()
    before = job.model.get_weights()
    job.evaluate()
    job.save(tmp_path / "model.safetensors")
    for a, b in zip(before, job.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_best_epoch_is_put_back_when_the_run_ends():
    job = _job(epochs=60, early_stopping=3, learning_rate=0.3)
    best = {}

    for record in job.trainer:
        if record.epoch_end is not None:
            val = record.epoch_end.logs["val_loss"]
            if val < best.get("loss", np.inf):
                best = {"loss": val, "weights": job.model.get_weights()}
    assert job.stopped_early  # a high learning rate: the validation loss turns up
    for a, b in zip(best["weights"], job.model.get_weights()):
        np.testing.assert_array_equal(a, b)
