"""``scripts/bench_quality.py``'s ``--set``: a variant of our defaults, measured by one
committed command. (The benchmark itself downloads tables and runs for minutes: not here.)"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from engine.run.settings import LayerSpec

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_quality.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.mark.parametrize(
    "spec, name, value",
    [
        ("learning_rate=1e-3", "learning_rate", 1e-3),
        ("batch_size=32", "batch_size", 32),
        ("early_stopping_rows=100", "early_stopping_rows", 100),
        ("optimizer=adam", "optimizer", "adam"),
        ("threshold=0.3", "threshold", 0.3),
        ("threshold=none", "threshold", None),
        ("fast_path=true", "fast_path", True),
        ("layers=64:elu,32", "layers", [LayerSpec(64, "elu"), LayerSpec(32, "relu")]),
        ("layers=128:relu:0.1", "layers", [LayerSpec(128, "relu", 0.1)]),
    ],
)
def test_a_setting_is_typed_as_its_default(bench, spec, name, value):
    assert bench.parse_override(spec) == (name, value)


@pytest.mark.parametrize(
    "spec",
    ["wings=2", "to_dict=3", "batch_size=many", "learning_rate=abc", "layers=wide:relu",
     "layers=64:elu:0.1:zzz", "epochs"],
)  # fmt: skip
def test_a_bad_setting_exits_2_naming_it(bench, capsys, spec):
    with pytest.raises(SystemExit) as info:
        bench.main(["--set", spec, "--tables", "breast_cancer"])
    assert info.value.code == 2
    assert f"--set {spec!r}" in capsys.readouterr().err
