"""The reference workloads of the design guide (§5): standard-normal float32 features, label 1
where the sum of the first three features is positive, ReLU hidden layers, one sigmoid output.

Training FLOPs per sample are counted as ``6 * sum(in * out)`` over the Dense layers
(forward 2, backward 4 multiply-adds per weight; biases, activations and the optimizer
are not counted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Workload:
    name: str
    rows: int
    features: int
    hidden: tuple[int, ...]
    batch_size: int
    epochs: int

    def data(self, rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((rows or self.rows, self.features), dtype=np.float32)
        y = (x[:, :3].sum(axis=1, keepdims=True) > 0).astype(np.float32)
        return x, y

    def flops_per_sample(self) -> int:
        widths = (self.features, *self.hidden, 1)
        return 6 * sum(a * b for a, b in zip(widths, widths[1:]))


WORKLOADS = {
    w.name: w
    for w in (
        Workload("small", 768, 8, (10,), 32, 50),
        Workload("medium", 100_000, 50, (256, 256), 256, 2),
        Workload("large", 200_000, 100, (512, 512, 512), 1024, 1),
    )
}
