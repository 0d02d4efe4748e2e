"""The Keras tutorial runs with only its tensorflow imports changed to engine."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.samples import sample_paths


def test_breast_cancer_tutorial(capsys):
    path = next(p for p in sample_paths() if p.name == "breast_cancer_8.csv")
    frame = pd.read_csv(path)
    y = frame.pop("malignant").to_numpy(np.float32)
    x = frame.to_numpy(np.float32)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    cut = int(0.8 * len(x))
    mean, std = x[:cut].mean(axis=0), x[:cut].std(axis=0)
    x = (x - mean) / std
    x_train, y_train, x_test, y_test = x[:cut], y[:cut], x[cut:], y[cut:]

    # --- the tutorial, imports changed from tensorflow.keras to engine ---
    from engine import set_random_seed  # keras.utils.set_random_seed
    from engine.layers import Dense
    from engine.models import Sequential

    set_random_seed(0)
    model = Sequential()
    model.add(Dense(10, input_dim=8, activation="relu"))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=150, batch_size=10)  # as the Keras tutorial does
    loss, accuracy = model.evaluate(x_test, y_test)
    # ---

    assert "Epoch 150/150" in capsys.readouterr().out
    assert accuracy > 0.85 and loss < 0.5
