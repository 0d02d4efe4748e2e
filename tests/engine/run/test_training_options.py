"""The training options of a run: class weights (against scikit-learn), the loss and optimizer
the settings build, and the command line's options for them."""

from __future__ import annotations

import numpy as np
import pytest

from engine.cli import build_parser
from engine.cli.arguments import settings_from
from engine.errors import UserError
from engine.nn.optimizers import AdamW
from engine.nn.schedules import WarmupCosine
from engine.run.model_factory import build_model, class_weights
from engine.run.settings import TrainSettings


def test_balanced_weights_match_scikit_learn():
    sklearn_utils = pytest.importorskip("sklearn.utils.class_weight")
    labels = np.array([0] * 90 + [1] * 7 + [2] * 3)
    onehot = np.eye(3)[labels]
    want = sklearn_utils.compute_class_weight("balanced", classes=np.arange(3), y=labels)
    np.testing.assert_allclose(class_weights(onehot, "balanced"), want)
    binary = (labels == 1).astype(float).reshape(-1, 1)
    want = sklearn_utils.compute_class_weight("balanced", classes=np.arange(2), y=binary.ravel())
    np.testing.assert_allclose(class_weights(binary, "balanced"), want)
    assert class_weights(binary, "none") is None


def test_the_settings_shape_the_loss_and_optimizer():
    settings = TrainSettings(optimizer="adamw", weight_decay=0.02, label_smoothing=0.1)
    model = build_model(4, 1, "binary", settings, class_weights=[0.5, 3.0])
    assert model.loss.label_smoothing == 0.1 and model.loss.class_weights == [0.5, 3.0]
    assert isinstance(model.optimizer, AdamW) and model.optimizer.weight_decay == 0.02
    assert model.optimizer.learning_rate == settings.learning_rate
    regression = build_model(4, 1, "regression", settings)
    assert regression.loss.name == "mse"


@pytest.mark.parametrize(
    ("field", "value"),
    [("lr_schedule", "linear"), ("class_weight", "auto"), ("weight_decay", -1.0),
     ("label_smoothing", 0.9)],
)  # fmt: skip
def test_bad_options_are_one_sentence(field, value):
    with pytest.raises(UserError):
        TrainSettings(**{field: value}).check()


def test_cli_options_reach_the_settings(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("a,b\n1,x\n2,y\n")
    args = build_parser("train").parse_args(
        ["train", str(csv), "--class-weight", "balanced", "--lr-schedule", "constant",
         "--weight-decay", "0.05", "--label-smoothing", "0.1"]
    )  # fmt: skip
    settings = settings_from(args)
    assert (settings.class_weight, settings.lr_schedule) == ("balanced", "constant")
    assert (settings.weight_decay, settings.label_smoothing) == (0.05, 0.1)
    default = settings_from(build_parser("train").parse_args(["train", str(csv)]))
    assert default.to_dict() == TrainSettings().to_dict()


def test_a_job_runs_with_balanced_weights_and_the_schedule(tmp_path):
    from engine.data import infer_schema, read_csv
    from engine.run.job import TrainingJob
    from engine.run.prepare import prepare

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = np.where(x[:, 0] > 1.2, "rare", "common")
    path = tmp_path / "imbalanced.csv"
    path.write_text("a,b,label\n" + "".join(f"{p},{q},{c}\n" for (p, q), c in zip(x, y)))
    table = read_csv(path)
    schema = infer_schema(table.frame, target="label", source=table.name)
    settings = TrainSettings(epochs=5, class_weight="balanced", seed=1)
    job = TrainingJob(prepare(table, schema, settings), settings)
    assert any(isinstance(c, WarmupCosine) for c in job.trainer.callbacks)
    weights = job.model.loss.class_weights
    assert weights is not None and max(weights) > 2 * min(weights)
    job.run()
    lrs = job.trainer.history["lr"]
    assert len(set(lrs)) == len(lrs)  # a different rate every epoch


def test_settings_round_trip_and_stored_runs_train_as_they_did():
    settings = TrainSettings(lr_schedule="cosine", weight_decay=0.1, class_weight="balanced")
    assert TrainSettings.from_dict(settings.to_dict()) == settings
    # a run stored before schedules and decay existed: its dict has no such keys
    added = ("lr_schedule", "weight_decay", "label_smoothing", "class_weight")
    old = {k: v for k, v in TrainSettings(optimizer="adam").to_dict().items() if k not in added}
    back = TrainSettings.from_dict(old)
    assert (back.lr_schedule, back.weight_decay, back.label_smoothing) == ("constant", 0.0, 0.0)
    assert back.class_weight == "none" and back.optimizer == "adam"
    assert TrainSettings().lr_schedule == "cosine"  # while new runs get the new defaults
