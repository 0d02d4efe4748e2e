"""From a CSV to training arrays: reading, column schema, preprocessing, target, splits.

Imports pandas, so ``import engine`` does not load this package; import it where needed.
"""

from engine.data.preprocess import Preprocessor
from engine.data.reader import CsvTable, read_csv
from engine.data.schema import KINDS, ROLES, TASKS, ColumnInfo, Schema, infer_schema
from engine.data.split import split_indices
from engine.data.target import TargetEncoder

__all__ = [
    "KINDS",
    "ROLES",
    "TASKS",
    "ColumnInfo",
    "CsvTable",
    "Preprocessor",
    "Schema",
    "TargetEncoder",
    "infer_schema",
    "read_csv",
    "split_indices",
]
