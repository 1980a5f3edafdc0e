"""PNG figures of a `contrario eval` result: the honesty curve and detection / mIoU against k.

The honesty curve is what the a contrario threshold promises, checked: regions per good image at
log10 NFA <= -k against the nominal 10^-k. A measured rate of zero cannot sit on a log axis; it is drawn
at the 95 % Poisson upper bound 3 / n (n good images) with an open marker, which is all n images can tell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
from scipy import stats

HONESTY_PNG = "honesty_curve.png"
DETECTION_PNG = "detection_vs_k.png"


def poisson_interval(count: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval for the mean of a Poisson variable observed as `count`."""
    alpha = 1 - confidence
    low = 0.0 if count == 0 else stats.chi2.ppf(alpha / 2, 2 * count) / 2
    high = stats.chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2
    return float(low), float(high)


def honesty_points(by_k: Mapping[str, Mapping[str, Any]], n_good: int) -> list[dict[str, float]]:
    """Per k: the measured regions per good image, its 95 % interval and the nominal rate 10^-k."""
    points = []
    for key in sorted(by_k, key=float):
        rate = by_k[key]["regions_per_good_image"]
        if rate is None or not np.isfinite(rate) or n_good <= 0:
            continue
        count = int(round(rate * n_good))
        low, high = poisson_interval(count)
        points.append({"k": float(key), "rate": float(rate), "low": low / n_good, "high": high / n_good,
                       "nominal": 10.0 ** -float(key), "regions": count})
    return points


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def plot_honesty(points: list[dict[str, float]], n_good: int, path: Path, title: str = "") -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.0), dpi=120)
    ks = np.array([p["k"] for p in points])
    if len(ks):
        grid = np.linspace(ks.min(), ks.max(), 50)
        ax.plot(grid, 10.0 ** -grid, "k--", lw=1, label="nominal: 10^-k false regions per image")
        floor = 3.0 / max(n_good, 1)
        measured = [p for p in points if p["regions"] > 0]
        empty = [p for p in points if p["regions"] == 0]
        if measured:
            x = np.array([p["k"] for p in measured])
            y = np.array([p["rate"] for p in measured])
            err = np.array([[p["rate"] - max(p["low"], 1e-12) for p in measured],
                            [p["high"] - p["rate"] for p in measured]])
            ax.errorbar(x, y, yerr=err, fmt="o-", color="C0", capsize=3, label="measured (95 % interval)")
        if empty:
            ax.plot([p["k"] for p in empty], [floor] * len(empty), "v", mfc="none", color="C0",
                    label=f"none seen: below {floor:.2g} (3 / {n_good})")
        ax.axhline(1.0 / max(n_good, 1), color="0.7", lw=0.8, label=f"one region in {n_good} images")
        ax.set_yscale("log")
        ax.set_xticks(ks)
    ax.set_xlabel("k  (regions kept at log10 NFA ≤ -k)")
    ax.set_ylabel("regions per good image")
    ax.set_title(title or f"Honesty of the threshold on {n_good} good images", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_detection(by_k: Mapping[str, Mapping[str, Any]], path: Path, title: str = "") -> Path:
    plt = _pyplot()
    ks = sorted(by_k, key=float)
    x = [float(k) for k in ks]
    fig, ax = plt.subplots(figsize=(5.5, 4.0), dpi=120)
    series = (("defect_images_with_detection", "defective images with a detection", "C3"),
              ("good_images_with_detection", "good images with a region", "C0"),
              ("miou", "mIoU of the mask", "C2"))
    for key, label, colour in series:
        y = [by_k[k].get(key) for k in ks]
        if any(v is not None for v in y):
            ax.plot(x, [np.nan if v is None else v for v in y], "o-", color=colour, label=label)
    ax.set_ylim(0, 1)
    ax.set_xticks(x)
    ax.set_xlabel("k  (regions kept at log10 NFA ≤ -k)")
    ax.set_ylabel("fraction")
    ax.set_title(title or "Detection and segmentation against the threshold", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_eval_plots(result: Mapping[str, Any], folder: str | Path) -> list[Path]:
    """Both figures of an eval result (needs its `by_k`); returns the files written."""
    from core.errors import ContrarioError

    by_k = result.get("by_k")
    if not by_k:
        raise ContrarioError("the evaluation has no by_k figures (the NFA step failed or was skipped)")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n_good = int(result.get("n_test_good") or 0)
    name = Path(str(result.get("category", ""))).name
    return [plot_honesty(honesty_points(by_k, n_good), n_good, folder / HONESTY_PNG,
                         f"{name}: regions per good image ({n_good} images)" if name else ""),
            plot_detection(by_k, folder / DETECTION_PNG, f"{name}: detection against k" if name else "")]
