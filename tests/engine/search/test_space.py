"""The search space: ``--vary`` / ``--fix`` parsing and the settings a trial gets."""

from __future__ import annotations

import optuna
import pytest

from engine.errors import UserError
from engine.run.settings import TrainSettings
from engine.search.space import DEFAULTS, SearchSpace


def test_default_space_varies_every_default():
    space = SearchSpace.default()
    assert [p.name for p in space.params] == list(DEFAULTS)
    assert space.fixed == ()


def test_vary_a_range_and_choices():
    space = SearchSpace.default().varied("learning_rate=1e-4..1e-2", "optimizer=adam,sgd")
    params = {p.name: p for p in space.params}
    lr = params["learning_rate"]
    assert (lr.low, lr.high, lr.log, lr.choices) == (1e-4, 1e-2, True, None)
    assert params["optimizer"].choices == ("adam", "sgd")
    assert SearchSpace.default().varied("batch_size=32,64").params[5].choices == (32, 64)
    # a range that includes 0 cannot be log-scaled
    assert {p.name: p for p in SearchSpace.default().varied("l2=0..1e-3").params}["l2"].log is False


def test_fix_removes_the_setting_from_the_varying_ones():
    space = SearchSpace.default().fixing("epochs=8", "optimizer=adam", "learning_rate=1e-3")
    assert "epochs" not in {p.name for p in space.params}
    assert dict(space.fixed) == {"epochs": 8, "optimizer": "adam", "learning_rate": 0.001}
    # varying it again takes it back out of the fixed ones
    again = space.varied("epochs=5..10")
    assert "epochs" not in dict(again.fixed) and "epochs" in {p.name for p in again.params}
    assert space.describe()["epochs"] == "= 8"


@pytest.mark.parametrize(
    "call, spec",
    [
        ("varied", "nope=1..2"),
        ("varied", "learning_rate"),
        ("varied", "learning_rate=a..b"),
        ("varied", "learning_rate=1e-2..1e-4"),
        ("fixing", "colour=red"),
        ("fixing", "epochs"),
    ],
)
def test_bad_specs_are_one_sentence_user_errors(call, spec):
    with pytest.raises(UserError) as caught:
        getattr(SearchSpace.default(), call)(spec)
    message = str(caught.value)
    assert "\n" not in message and spec.split("=")[0] in message


def test_suggested_settings_are_valid_and_within_the_space():
    space = SearchSpace.default().varied("units=8..32", "batch_size=16,32").fixing("epochs=3")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    base = TrainSettings()
    for _ in range(30):
        trial = study.ask()
        settings = space.settings(trial, base)  # check()s the settings
        assert 1 <= len(settings.layers) <= 4
        assert all(8 <= layer.units <= 32 for layer in settings.layers)
        assert len({(lay.units, lay.activation, lay.dropout) for lay in settings.layers}) == 1
        assert settings.batch_size in (16, 32) and settings.epochs == 3
        assert 1e-4 <= settings.learning_rate <= 3e-2
        assert 0.0 <= settings.layers[0].dropout <= 0.5
        study.tell(trial, 0.0)


def test_a_fixed_value_the_settings_refuse_is_a_user_error():
    space = SearchSpace.default().fixing("optimizer=nonsense")
    with pytest.raises(UserError):
        space.settings(optuna.create_study().ask(), TrainSettings())
