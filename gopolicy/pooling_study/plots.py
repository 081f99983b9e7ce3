"""PNG plots of the study (matplotlib, Agg backend)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from gopolicy.pooling_study.report import aggregate


def _plt():
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def _curves(history, task, dataset, metric):
    """variant -> (epochs, mean, std) over seeds."""
    out = {}
    for h in history:
        if h["task"] == task and (dataset is None or h["dataset"] == dataset) and metric in h:
            out.setdefault(h["variant"], {}).setdefault(h["epoch"], []).append(h[metric])
    res = {}
    for v, by_epoch in out.items():
        ep = sorted(by_epoch)
        vals = [np.asarray(by_epoch[e], float) for e in ep]
        res[v] = (np.asarray(ep), np.array([x.mean() for x in vals]), np.array([x.std() for x in vals]))
    return res


def _epoch_plot(ax, curves, ylabel):
    for v, (ep, m, s) in curves.items():
        line, = ax.plot(ep, 100 * m, marker="o", label=v)
        if np.any(s > 0):
            ax.fill_between(ep, 100 * (m - s), 100 * (m + s), color=line.get_color(), alpha=0.15)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if len(curves) and max(len(c[0]) for c in curves.values()) < 12:
        ax.set_xticks(sorted({int(e) for c in curves.values() for e in c[0]}))


def make_plots(results: dict, out: Path) -> list[Path]:
    plt = _plt()
    out = Path(out)
    rows, history = results["rows"], results["history"]
    files = []
    datasets = [d["name"] for d in results.get("images") or [] if any(r["dataset"] == d["name"] for r in rows)]
    shifts = sorted(results["config"].get("shifts", (0, 1, 2, 3, 4)))
    if datasets:
        fig, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 4), squeeze=False)
        for ax, ds in zip(axes[0], datasets):
            _epoch_plot(ax, _curves(history, "images", ds, "acc"), "test accuracy %")
            ax.set_title(f"{ds}: test accuracy per epoch")
        fig.tight_layout()
        files.append(out / "images_accuracy_per_epoch.png")
        fig.savefig(files[-1], dpi=110)
        plt.close(fig)

        fig, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 4), squeeze=False)
        for ax, ds in zip(axes[0], datasets):
            agg = aggregate(rows, "images", ds)
            for v, d in agg.items():
                ks = [k for k in shifts if k == 0 or f"shift{k}_acc" in d]
                m = np.array([d["acc"][0] if k == 0 else d[f"shift{k}_acc"][0] for k in ks])
                s = np.array([d["acc"][1] if k == 0 else d[f"shift{k}_acc"][1] for k in ks])
                s = np.nan_to_num(s)
                ax.errorbar(ks, 100 * m, yerr=100 * s, marker="o", capsize=3, label=f"{v}")
            ax.set_xticks(shifts)
            ax.set_xlabel("test images shifted by (pixels, zero fill)")
            ax.set_ylabel("test accuracy %")
            ax.set_title(f"{ds}: accuracy vs pixel shift")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        files.append(out / "images_shift.png")
        fig.savefig(files[-1], dpi=110)
        plt.close(fig)

    agg = aggregate(rows, "go")
    if agg:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
        names = list(agg)
        x = np.arange(len(names))
        top1 = np.array([agg[n]["top1"][0] for n in names]) * 100
        near = np.array([agg[n]["near"][0] for n in names]) * 100
        err = np.nan_to_num(np.array([agg[n]["top1"][1] for n in names]) * 100)
        ax1.bar(x, top1, yerr=err, capsize=4, color="tab:blue", label="exact (top-1)")
        ax1.bar(x, near, bottom=top1, color="tab:orange", alpha=0.7, label="off by one point")
        for i in range(len(names)):
            ax1.text(x[i], top1[i] + near[i], f"{top1[i]:.1f} + {near[i]:.1f}", ha="center", va="bottom",
                     fontsize=8)
        ax1.set_xticks(x, names)
        ax1.set_ylabel("% of test positions")
        ax1.set_ylim(0, max(1.0, float((top1 + near).max())) * 1.15)
        ax1.set_title("Go: predicted move exact / one point off")
        ax1.legend(fontsize=8)
        ax1.grid(axis="y", alpha=0.3)
        _epoch_plot(ax2, _curves(history, "go", None, "top1"), "test top-1 %")
        ax2.set_title("Go: top-1 move prediction per epoch")
        fig.tight_layout()
        files.append(out / "go_top1.png")
        fig.savefig(files[-1], dpi=110)
        plt.close(fig)

        ex = {k: v for k, v in (results.get("go_examples") or {}).items() if v}
        if ex:
            files.append(_go_example_plot(plt, ex, out / "go_example_policy.png"))
    return files


def _go_example_plot(plt, examples: dict, path: Path) -> Path:
    names = list(examples)
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 4.4), squeeze=False)
    for ax, name in zip(axes[0], names):
        e = examples[name]
        probs = np.asarray(e["probs"]).reshape(19, 19)
        player, opp = np.asarray(e["player"]), np.asarray(e["opponent"])
        ax.imshow(probs, cmap="Reds", origin="lower", vmin=0, vmax=max(probs.max(), 1e-6))
        ys, xs = np.nonzero(player)
        ax.scatter(xs, ys, s=40, c="black", edgecolors="black")
        ys, xs = np.nonzero(opp)
        ax.scatter(xs, ys, s=40, c="white", edgecolors="black")
        tr, tc = divmod(e["target"], 19)
        pr, pc = divmod(int(np.argmax(probs)), 19)
        ax.scatter([tc], [tr], s=160, facecolors="none", edgecolors="lime", linewidths=2, label="move played")
        ax.scatter([pc], [pr], s=90, marker="x", c="blue", linewidths=2, label="net's top choice")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{name}\n(policy; p(move played) = {probs[tr, tc]:.3f})", fontsize=9)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8)
    fig.suptitle("One test position: where each net puts its probability (black = player to move)", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
