"""Regenerate the sample datasets in assets/ (deterministic; see assets/README.md).

python scripts/make_samples.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def breast_cancer_8() -> pd.DataFrame:
    """Binary, 8 numeric features: the 'mean' measurements of the Wisconsin data set."""
    bunch = datasets.load_breast_cancer(as_frame=True)
    cols = [
        "mean radius",
        "mean texture",
        "mean perimeter",
        "mean area",
        "mean smoothness",
        "mean compactness",
        "mean concavity",
        "mean symmetry",
    ]
    frame = bunch.frame[cols].rename(columns=lambda c: c.replace("mean ", "").replace(" ", "_"))
    # 1 = malignant, as in the usual reading of the data set (sklearn codes malignant as 0)
    frame["malignant"] = 1 - bunch.target
    return frame.round(5)


def wine() -> pd.DataFrame:
    """Multi-class: 13 chemical measurements, 3 cultivars (named class_0..class_2)."""
    bunch = datasets.load_wine(as_frame=True)
    frame = bunch.frame.drop(columns="target")
    frame["cultivar"] = [bunch.target_names[t] for t in bunch.target]
    return frame


def diabetes() -> pd.DataFrame:
    """Regression: 10 baseline variables, disease progression one year later (unscaled)."""
    bunch = datasets.load_diabetes(as_frame=True, scaled=False)
    frame = bunch.frame.rename(columns={"target": "progression"})
    return frame


def customer_churn(n: int = 2000, seed: int = 7) -> pd.DataFrame:
    """Synthetic binary task with categorical columns and missing values."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "standard", "premium"], n, p=[0.5, 0.35, 0.15])
    region = rng.choice(
        ["north", "south", "east", "west", "island"], n, p=[0.3, 0.3, 0.2, 0.18, 0.02]
    )
    contract = rng.choice(["monthly", "yearly", "two-year"], n, p=[0.55, 0.3, 0.15])
    tenure = rng.gamma(2.0, 12.0, n).round(0)
    base_charge = np.select([plan == "basic", plan == "standard"], [25.0, 50.0], 85.0)
    monthly = base_charge + rng.normal(0, 6, n)
    support_calls = rng.poisson(1.5, n)
    age = rng.normal(45, 14, n).clip(18, 90).round(0)
    logit = (
        -1.0
        + 1.2 * (contract == "monthly")
        - 0.9 * (contract == "two-year")
        - 0.045 * tenure
        + 0.45 * support_calls
        + 0.012 * (monthly - 50)
        + 0.6 * (region == "island")
    )
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{100000 + i}" for i in range(n)],
            "plan": plan,
            "region": region,
            "contract": contract,
            "tenure_months": tenure,
            "monthly_charge": monthly.round(2),
            "support_calls": support_calls,
            "age": age,
            "churned": np.where(churned, "yes", "no"),
        }
    )
    for col, frac in [
        ("region", 0.04),
        ("tenure_months", 0.05),
        ("monthly_charge", 0.03),
        ("age", 0.08),
    ]:
        mask = rng.random(n) < frac
        frame[col] = frame[col].astype(object)
        frame.loc[mask, col] = None
    return frame


def main() -> None:
    for name, make in [
        ("breast_cancer_8", breast_cancer_8),
        ("wine", wine),
        ("diabetes", diabetes),
        ("customer_churn", customer_churn),
    ]:
        path = ASSETS / f"{name}.csv"
        make().to_csv(path, index=False, lineterminator="\n")
        print(f"wrote {path.name}")


if __name__ == "__main__":
    main()
