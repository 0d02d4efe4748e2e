"""The search space of a sweep: which settings vary, over what, and which stay fixed.

Defaults cover the number and width of hidden layers, the activation, optimizer, learning
rate (log scale), batch size, dropout, L2 and the epoch cap. The user narrows any of them or
fixes it, from the CLI (``--vary learning_rate=1e-4..1e-2``, ``--fix optimizer=adam``) or the
app, with the same spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine.errors import UserError
from engine.run.settings import OPTIMIZERS, LayerSpec, TrainSettings


@dataclass(frozen=True)
class Param:
    """One varying setting: ``choices``, or a ``low``..``high`` range (``log`` scale)."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: tuple | None = None

    def suggest(self, trial):
        if self.choices is not None:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def text(self) -> str:
        if self.choices is not None:
            return ",".join(str(c) for c in self.choices)
        return f"{self.low:g}..{self.high:g}" + (" (log)" if self.log else "")


DEFAULTS: dict[str, Param] = {
    p.name: p
    for p in (
        Param("n_layers", 1, 4, integer=True),
        Param("units", 16, 512, log=True, integer=True),
        Param("activation", choices=("relu", "gelu", "elu", "leaky_relu", "tanh")),
        Param("optimizer", choices=OPTIMIZERS),
        Param("learning_rate", 1e-4, 3e-2, log=True),
        Param("batch_size", choices=(16, 32, 64, 128, 256)),
        Param("dropout", 0.0, 0.5),
        Param("l2", 1e-7, 1e-2, log=True),
        Param("epochs", 20, 200, integer=True),
    )
}
_LOG = {"units", "learning_rate", "l2"}


@dataclass(frozen=True)
class SearchSpace:
    """``params``: the settings that vary; ``fixed``: the ones set to one value."""

    params: tuple[Param, ...]
    fixed: tuple[tuple[str, object], ...] = ()

    @classmethod
    def default(cls) -> SearchSpace:
        return cls(tuple(DEFAULTS.values()))

    def varied(self, *specs: str) -> SearchSpace:
        """Narrow or replace ranges: ``name=low..high`` or ``name=a,b,c``."""
        params = {p.name: p for p in self.params}
        fixed = dict(self.fixed)
        for spec in specs:
            name, value = _split(spec)
            base = DEFAULTS[name]
            if ".." in value:
                low, high = (_number(v, spec) for v in value.split("..", 1))
                if not low <= high:
                    raise UserError(f"{spec!r}: the range must go from low to high")
                params[name] = replace(base, low=low, high=high, choices=None,
                                       log=name in _LOG and low > 0)  # fmt: skip
            else:
                params[name] = replace(base, choices=tuple(_value(v) for v in value.split(",")))
            fixed.pop(name, None)
        return SearchSpace(tuple(params.values()), tuple(fixed.items()))

    def fixing(self, *specs: str) -> SearchSpace:
        """Fix settings: ``name=value``."""
        fixed = dict(self.fixed)
        for spec in specs:
            name, value = _split(spec)
            fixed[name] = _value(value)
        names = set(fixed)
        return SearchSpace(tuple(p for p in self.params if p.name not in names),
                           tuple(fixed.items()))  # fmt: skip

    def settings(self, trial, base: TrainSettings) -> TrainSettings:
        """The settings of one trial: ``base`` with the suggested and fixed values."""
        values = {**dict(self.fixed), **{p.name: p.suggest(trial) for p in self.params}}
        n_layers = int(values.pop("n_layers", len(base.layers)))
        units = int(values.pop("units", base.layers[0].units if base.layers else 64))
        activation = values.pop("activation", base.layers[0].activation if base.layers else "relu")
        dropout = float(values.pop("dropout", base.layers[0].dropout if base.layers else 0.0))
        layers = [LayerSpec(units, activation, dropout) for _ in range(n_layers)]
        settings = replace(base, layers=layers, **values)
        settings.check()
        return settings

    def describe(self) -> dict[str, str]:
        return {**{p.name: p.text() for p in self.params},
                **{name: f"= {value}" for name, value in self.fixed}}  # fmt: skip


def _split(spec: str) -> tuple[str, str]:
    name, sep, value = spec.partition("=")
    name = name.strip()
    if not sep or name not in DEFAULTS:
        raise UserError(f"{spec!r}: give NAME=VALUE with NAME one of {', '.join(DEFAULTS)}")
    return name, value.strip()


def _number(text: str, spec: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UserError(f"{spec!r}: {text!r} is not a number") from None


def _value(text: str):
    """``'3'`` -> 3, ``'1e-3'`` -> 0.001, anything else stays text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text.strip()
