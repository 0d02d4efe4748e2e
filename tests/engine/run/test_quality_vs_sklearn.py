"""Default settings on each bundled dataset: test quality within 0.03 of scikit-learn's MLP
trained on the same split and the same preprocessed arrays (a comparable pipeline)."""

from __future__ import annotations

import warnings

import pytest

from engine.data import read_csv
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.run.settings import TrainSettings

sklearn = pytest.importorskip("sklearn")


@pytest.mark.parametrize(
    "name", ["breast_cancer_8.csv", "wine.csv", "diabetes.csv", "customer_churn.csv"]
)
def test_default_quality_matches_sklearn(sample_dir, name):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    settings = TrainSettings()
    data = prepare(read_csv(sample_dir / name), settings=settings)
    job = TrainingJob(data, settings)
    job.run()
    metrics = job.evaluate()
    hidden = tuple(layer.units for layer in settings.layers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if data.task == "regression":
            ref = MLPRegressor(hidden_layer_sizes=hidden, random_state=settings.seed)
            ref.fit(data.x_train, data.y_train.ravel())
            ours, theirs = metrics["r2"], r2_score(data.y_test.ravel(), ref.predict(data.x_test))
        else:
            multi = data.y_train.shape[1] > 1
            y_train = data.y_train.argmax(1) if multi else data.y_train.ravel()
            y_test = data.y_test.argmax(1) if multi else data.y_test.ravel()
            ref = MLPClassifier(hidden_layer_sizes=hidden, random_state=settings.seed)
            ref.fit(data.x_train, y_train)
            ours, theirs = metrics["accuracy"], accuracy_score(y_test, ref.predict(data.x_test))
    print(f"{name}: ours {ours:.4f}, scikit-learn {theirs:.4f}")
    assert ours >= theirs - 0.03
