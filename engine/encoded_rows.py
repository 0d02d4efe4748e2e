"""A one-hot feature matrix kept compact: its numeric columns, and one index per categorical
column instead of that column's block of zeros and a one.

A table of 20 numbers and 9 categories with 117 one-hot columns in all is 137 float32
values a row as a dense matrix, and 20 float32 plus 9 int32 values here: 1M rows take
116 MB instead of 548 MB, on the host and on the GPU. The trainer expands each mini-batch
into its dense work buffer on the device (:meth:`EncodedRows.write_rows`), so the network
sees exactly the dense rows, and nothing else changes.

NumPy and CuPy alike: the arrays are the backend's, and so is the work.
"""

from __future__ import annotations

import numpy as np

from engine.backend import array_module, to_numpy


class EncodedRows:
    """``n`` rows of a ``(n, width)`` float32 matrix.

    ``numeric`` ``(n, k)`` float32 holds columns ``0..k-1``. ``hot`` ``(n, c)`` int32 holds,
    for each of ``c`` one-hot blocks, the column (``k..width-1``) set to 1 in that row, or
    ``width`` where no column of the block is set (a category unseen in training).
    """

    ndim = 2
    dtype = np.dtype(np.float32)

    def __init__(self, numeric, hot, width: int, has_unseen: bool | None = None):
        if numeric.ndim != 2 or hot.ndim != 2 or len(numeric) != len(hot):
            raise ValueError(
                f"numeric {numeric.shape} and hot {hot.shape} must be 2-D with as many rows"
            )
        self.numeric, self.hot, self.width = numeric, hot, int(width)
        self.xp = array_module(numeric)
        if has_unseen is None:  # without 'unseen' indices rows expand straight into the output
            has_unseen = bool((hot == self.width).any()) if hot.size else False
        self.has_unseen = has_unseen
        self._wide = self._flat = self._starts = self._gathered = None
        self._starts_stride = 0

    # -- array-like ----------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.numeric), self.width)

    def __len__(self) -> int:
        return len(self.numeric)

    @property
    def nbytes(self) -> int:
        return int(self.numeric.nbytes + self.hot.nbytes)

    def __getitem__(self, rows) -> EncodedRows:
        """Rows by slice or index array (views for a slice)."""
        if isinstance(rows, int | np.integer):
            rows = slice(rows, rows + 1 if rows != -1 else None)
        return EncodedRows(self.numeric[rows], self.hot[rows], self.width, self.has_unseen)

    def __array__(self, dtype=None, copy=None):
        dense = to_numpy(self.to_dense())
        return dense if dtype is None else dense.astype(dtype, copy=False)

    def __repr__(self) -> str:
        k, c = self.numeric.shape[1], self.hot.shape[1]
        return f"EncodedRows({len(self)} rows × {self.width}: {k} numeric, {c} one-hot blocks)"

    def on(self, backend) -> EncodedRows:
        """These rows on ``backend``'s device (no copy when already there)."""
        numeric = backend.asarray(self.numeric, dtype=np.float32)
        hot = backend.asarray(self.hot, dtype=np.int32)
        return EncodedRows(numeric, hot, self.width, self.has_unseen)

    # -- expansion -----------------------------------------------------------------------

    def to_dense(self):
        """The dense ``(n, width)`` float32 matrix, on this object's device."""
        out = self.xp.empty(self.shape, dtype=np.float32)
        return self.write_rows(out)

    def write_rows(self, out, index=None):
        """Write the dense rows (all, or ``index``: a device int array or a slice) into
        ``out`` ``(rows, width)`` and return it. Reuses its scratch arrays: after the first
        call at a size, a call allocates nothing (as a training step must not)."""
        xp, k = self.xp, self.numeric.shape[1]
        rows = out.shape[0]
        numeric, hot = self.numeric, self.hot
        if index is not None:
            if isinstance(index, slice):
                numeric, hot = numeric[index], hot[index]
            else:
                numeric_out, hot_out = self._gather_buffers(len(index))
                numeric = xp.take(numeric, index, axis=0, out=numeric_out)
                hot = xp.take(hot, index, axis=0, out=hot_out)
        if len(numeric) != rows:
            raise ValueError(f"{len(numeric)} rows do not fit an output of {rows} rows")
        target = out
        if self.has_unseen or not out.flags.c_contiguous:
            # the 'unseen' index sets a spare last column, not copied
            target = self._scratch(rows)
        target[:, k:] = 0.0
        target[:, :k] = numeric
        if hot.shape[1]:
            flat = self._flat_index(rows, target.shape[1], hot)
            target.reshape(-1)[flat] = 1.0
        if target is not out:
            out[...] = target[:, : self.width]
        return out

    def _gather_buffers(self, rows: int):
        held = self._gathered
        if held is None or len(held[0]) < rows:
            xp = self.xp
            held = self._gathered = (
                xp.empty((rows, self.numeric.shape[1]), dtype=np.float32),
                xp.empty((rows, self.hot.shape[1]), dtype=self.hot.dtype),
            )
        return held[0][:rows], held[1][:rows]

    def _scratch(self, rows: int):
        if self._wide is None or len(self._wide) < rows:
            self._wide = self.xp.empty((rows, self.width + 1), dtype=np.float32)
        return self._wide[:rows]

    def _flat_index(self, rows: int, stride: int, hot):
        """Positions in the flattened ``(rows, stride)`` output of each row's ones."""
        xp = self.xp
        if self._starts is None or len(self._starts) < rows or self._starts_stride != stride:
            self._starts = xp.arange(rows, dtype=np.int64)[:, None] * stride
            self._starts_stride = stride
            self._flat = xp.empty((rows, hot.shape[1]), dtype=np.int64)
        flat = self._flat[:rows]
        xp.add(self._starts[:rows], hot, out=flat)
        return flat.reshape(-1)


def on_backend(x, backend, dtype=np.float32):
    """Host features (an array or :class:`EncodedRows`) on ``backend``'s device."""
    if isinstance(x, EncodedRows):
        return x.on(backend)
    return backend.asarray(x, dtype=dtype)


def dense_rows(x, start: int, stop: int):
    """Rows ``start:stop`` of ``x`` (an array or :class:`EncodedRows`) as a dense array."""
    part = x[start:stop]
    return part.to_dense() if isinstance(part, EncodedRows) else part
