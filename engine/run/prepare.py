"""From a table to split training arrays: the one data preparation the app and the CLI share.

```python
table = read_csv("data.csv")
schema = infer_schema(table.frame, target="price", source=table.name)
data = prepare(table, schema, settings)          # split, fit the pipeline, float32 arrays
```
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.data.pipeline import Pipeline
from engine.data.preprocess import Preprocessor
from engine.data.reader import CsvTable
from engine.data.schema import Schema, infer_schema
from engine.data.split import split_indices
from engine.data.target import TargetEncoder
from engine.encoded_rows import EncodedRows
from engine.errors import DataError
from engine.nn.seeding import stream_seed
from engine.run.settings import TrainSettings


@dataclass
class PreparedData:
    """Split float32 arrays and what made them.

    ``x_*``: ``(n, n_inputs)`` features as :class:`~engine.encoded_rows.EncodedRows` (one index
    per categorical column instead of its one-hot block: the engine expands each batch on
    the device; ``np.asarray(x)`` gives the dense matrix); ``y_*``: ``(n, n_outputs)``, 0/1
    or one-hot for classes, standardised values for regression.
    """

    x_train: EncodedRows
    y_train: np.ndarray
    x_val: EncodedRows
    y_val: np.ndarray
    x_test: EncodedRows
    y_test: np.ndarray
    pipeline: Pipeline
    source: str
    notes: list[str] = field(default_factory=list)
    # the raw rows and the test split's positions in them (explanations permute raw columns)
    frame: pd.DataFrame | None = field(default=None, repr=False)
    test_rows: np.ndarray | None = None

    def test_frame(self) -> pd.DataFrame:
        """The test split's raw rows, target column included (empty when not kept)."""
        if self.frame is None or self.test_rows is None:
            return pd.DataFrame()
        return self.frame.iloc[self.test_rows]

    @property
    def task(self) -> str:
        return self.pipeline.task

    @property
    def n_inputs(self) -> int:
        return self.x_train.shape[1]

    @property
    def rows(self) -> int:
        """The table's usable rows: training, validation and test together."""
        return len(self.x_train) + len(self.x_val) + len(self.x_test)

    @property
    def n_numeric(self) -> int:
        """How many of the first inputs are numeric columns (the preprocessing puts the
        scaled numbers first, one input each)."""
        return len(self.pipeline.preprocessor.numeric)

    @property
    def n_outputs(self) -> int:
        return self.pipeline.n_outputs


def prepare(
    data: CsvTable | pd.DataFrame,
    schema: Schema | None = None,
    settings: TrainSettings | None = None,
    rows: tuple[np.ndarray, np.ndarray] | None = None,
) -> PreparedData:
    """Drop rows without a target, split, fit preprocessing on the training rows, encode.

    ``rows``: ``(train, test)`` positions among the rows with a target (a cross-validation
    fold, :mod:`engine.run.crossval`) instead of ``settings.test_split``; the validation rows
    are then ``settings.val_split`` of ``train``. Raises :class:`DataError` when no model can
    be trained (see :meth:`Schema.check`).
    """
    settings = settings or TrainSettings()
    if isinstance(data, CsvTable):
        frame, source, notes = data.frame, data.name, list(data.warnings)
    else:
        frame, source, notes = data, "the data", []
    schema = schema or infer_schema(frame, source=source)
    schema.check(source)
    target_column = frame[schema.target]
    target = TargetEncoder.fit(target_column, schema.task)
    valid = target.valid_rows(target_column)
    kept = None  # positions of the rows with a target; None: all rows
    if not valid.all():
        notes.append(f"{source}: {int((~valid).sum()):,} rows without a target value are skipped")
        kept = np.flatnonzero(valid)
        target_column = target_column.iloc[kept]
    classes = target.class_indices(target_column) if schema.task == "classification" else None
    if len(target_column) < 3:
        raise DataError(
            f"{source}: only {len(target_column)} rows have a target value; add more rows"
        )
    split_seed = stream_seed(settings.seed, "split")  # set_random_seed covers it too
    if rows is None:
        train, val, test = split_indices(
            len(target_column), settings.val_split, settings.test_split, split_seed, classes
        )
    else:
        train, test = (np.asarray(part, dtype=np.int64) for part in rows)
        inner = None if classes is None else classes[train]
        fit, val, _ = split_indices(len(train), settings.val_split, 0.0, split_seed, inner)
        train, val = train[fit], train[val]
    if schema.task == "regression":
        target = TargetEncoder.fit(target_column, "regression", rows=train)
    # the frame keeps the rows without a target: its positions go through ``kept``
    rows = [train, val, test] if kept is None else [kept[train], kept[val], kept[test]]
    preprocessor, (x_train, x_val, x_test) = Preprocessor.fit_transform(
        frame, schema, rows[0], rows
    )
    y = target.encode(target_column) if classes is None else target.encode_classes(classes)
    return PreparedData(
        x_train, y[train], x_val, y[val], x_test, y[test],
        Pipeline(schema, preprocessor, target), source, notes,
        frame=frame, test_rows=test if kept is None else kept[test],
    )  # fmt: skip
