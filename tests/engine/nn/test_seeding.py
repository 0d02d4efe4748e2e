"""One seed, independent streams: the split, the weights, dropout and the batch order never
draw the same numbers, and set_random_seed covers every one of them, the split included."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine import set_random_seed
from engine.nn.seeding import STREAMS, stream_seed
from engine.run.prepare import prepare
from engine.run.settings import TrainSettings


def test_each_use_of_a_seed_gets_its_own_stream():
    seeds = [stream_seed(0, use) for use in STREAMS]
    assert len(set(seeds)) == len(STREAMS)
    draws = [np.random.default_rng(s).permutation(100) for s in seeds]
    for i in range(len(draws)):
        for j in range(i + 1, len(draws)):
            assert not np.array_equal(draws[i], draws[j])
    assert stream_seed(0, "order") == stream_seed(0, "order")  # and each is repeatable


def _split(seed):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.standard_normal(200), "y": np.arange(200) % 2})
    data = prepare(frame, settings=TrainSettings(seed=seed))
    return np.asarray(data.x_test)[:, 0].tolist()


def test_set_random_seed_covers_the_split():
    set_random_seed(5)
    first = _split(None)
    set_random_seed(5)
    assert _split(None) == first
    set_random_seed(6)
    assert _split(None) != first
    assert _split(3) == _split(3)  # an explicit seed stays an explicit seed
