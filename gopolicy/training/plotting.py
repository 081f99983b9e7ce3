"""Training curves: loss and accuracy against samples seen (matplotlib, Agg backend).

``plot_runs([run_a, run_b], "compare.png")`` overlays several runs' training
and validation curves on the same samples-seen axis, which is how the two
recipes are compared at equal data.
"""
from __future__ import annotations

import json
from pathlib import Path


def load_metrics(run_dir) -> tuple[list[dict], list[dict]]:
    """(training records, validation records) from ``RUN_DIR/metrics.jsonl``;
    a torn last line (killed run) is ignored."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no metrics.jsonl (not a gopolicy run directory?)")
    train, val = [], []
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if "val_loss" in rec:
            val.append(rec)
        elif "loss" in rec:
            train.append(rec)
    return train, val


def run_label(run_dir) -> str:
    path = Path(run_dir)
    try:
        cfg = json.loads((path / "config.json").read_text())
        r, m = cfg.get("recipe", {}), cfg.get("model", {})
        return f"{path.name} ({r.get('name')}, k={m.get('filters')}, batch {r.get('batch_size')})"
    except (OSError, ValueError):
        return path.name


def plot_runs(run_dirs, out_png, labels=None, title: str | None = None) -> Path:
    """Two panels (loss, top-1 accuracy) vs samples seen for each run; returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dirs = [Path(r) for r in run_dirs]
    labels = list(labels) if labels else [run_label(r) for r in run_dirs]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (run, label) in enumerate(zip(run_dirs, labels)):
        c = colors[i % len(colors)]
        train, val = load_metrics(run)
        if train:
            xs = [r["samples"] for r in train]
            ax_loss.plot(xs, [r["loss"] for r in train], color=c, alpha=0.6, lw=1, label=f"{label} train")
            ax_acc.plot(xs, [100 * r["top1"] for r in train], color=c, alpha=0.6, lw=1, label=f"{label} train")
        if val:
            xs = [r["samples"] for r in val]
            ax_loss.plot(xs, [r["val_loss"] for r in val], color=c, lw=2, marker="o", ms=3, label=f"{label} val")
            ax_acc.plot(xs, [100 * r["val_top1"] for r in val], color=c, lw=2, marker="o", ms=3,
                        label=f"{label} val")
    ax_loss.set_xlabel("samples seen")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_acc.set_xlabel("samples seen")
    ax_acc.set_ylabel("top-1 accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    ax_acc.axhline(55.4, color="gray", ls=":", lw=1)
    ax_acc.text(ax_acc.get_xlim()[0], 55.6, "AlphaGo k=192: 55.4%", fontsize=7, color="gray")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png
