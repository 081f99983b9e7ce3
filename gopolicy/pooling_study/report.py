"""report.md: one table per task (mean +- std over seeds) and an interpretation
written from the measured numbers (every claim is a comparison of them)."""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

# ---------------------------------------------------------------------------
# aggregation
# ---------------------------------------------------------------------------

def aggregate(rows: list[dict], task: str, dataset: str | None = None) -> "OrderedDict[str, dict]":
    """variant -> {metric: (mean, std, n)} over seeds, plus 'label', 'params', 'macs'."""
    out: OrderedDict[str, dict] = OrderedDict()
    for r in rows:
        if r["task"] != task or (dataset is not None and r["dataset"] != dataset):
            continue
        out.setdefault(r["variant"], []).append(r)
    agg = OrderedDict()
    for name, rs in out.items():
        d = {"label": rs[0]["label"], "params": rs[0]["params"], "macs": rs[0]["macs"], "n": len(rs),
             "test_examples": rs[0]["test_examples"]}
        for k in rs[0]:
            vals = [r.get(k) for r in rs]
            if k in ("seed", "params", "macs", "epochs", "train_examples", "test_examples"):
                continue
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
                arr = np.asarray(vals, dtype=float)
                d[k] = (float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else float("nan"), len(arr))
        agg[name] = d
    return agg


def pct(m: tuple | float, std: bool = True) -> str:
    if isinstance(m, tuple):
        mean, sd, n = m
        s = f"{100 * mean:.1f}"
        if std and n > 1 and not math.isnan(sd):
            s += f" ± {100 * sd:.1f}"
        return s
    return f"{100 * m:.1f}"


def num(m: tuple, digits: int = 2) -> str:
    mean, sd, n = m
    s = f"{mean:.{digits}f}"
    if n > 1 and not math.isnan(sd):
        s += f" ± {sd:.{digits}f}"
    return s


def human(n: float) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.2f}{unit}"
    return f"{n:.0f}"


def noise(a: tuple, b: tuple, n_test: int) -> float:
    """Two standard errors of the difference of two accuracies: from the seeds'
    spread when there are several, and never below the test set's binomial error."""
    def se(m):
        mean, sd, n = m
        binom = math.sqrt(max(mean * (1 - mean), 1e-4) / max(n_test, 1))
        seeds = sd / math.sqrt(n) if n > 1 and not math.isnan(sd) else 0.0
        return max(binom, seeds)
    return 2 * math.sqrt(se(a) ** 2 + se(b) ** 2)


def compare(a: tuple, b: tuple, n_test: int, higher: str = "higher", lower: str = "lower") -> str:
    """'X points higher' / '... lower' / 'within noise' for accuracies a vs b."""
    d = a[0] - b[0]
    if abs(d) <= noise(a, b, n_test):
        return f"level (a difference of {100 * d:+.1f} points, within the noise of ±{100 * noise(a, b, n_test):.1f}) with"
    return f"{100 * abs(d):.1f} points {higher if d > 0 else lower} than"


# ---------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------

def image_table(agg, shifts) -> list[str]:
    head = ["Variant", "Params", "Mult-adds", "s/epoch", "Test acc %"] + [f"shift {k}px %" for k in shifts if k]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for name, d in agg.items():
        cells = [f"`{name}` {d['label']}", f"{d['params']:,}", human(d["macs"]),
                 num(d["seconds_per_epoch"], 1), pct(d["acc"])]
        cells += [pct(d[f"shift{k}_acc"]) if f"shift{k}_acc" in d else "–" for k in shifts if k]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _receptive_field(name: str, n_convs: int) -> int:
    """Receptive field (pixels) of one output of the conv stack of a simple_cnn
    variant: 3x3 convs, plus 2x2 pools / stride 2 for the downsampling variants."""
    rf, jump = 1, 1
    for _ in range(n_convs):
        rf += 2 * jump
        if name.startswith("maxpool"):
            rf += jump
            jump *= 2
        elif name.startswith("stride"):
            jump *= 2
    return rf


def image_text(agg, dataset: str, info: dict, epochs: int, shifts, n_convs: int = 2) -> str:
    n_test = info.get("test", 1000)
    ks = [k for k in shifts if k]
    pool_name = "maxpool-fc" if "maxpool-fc" in agg else "pool" if "pool" in agg else None
    nofc_name = "none-fc" if "none-fc" in agg else "nopool" if "nopool" in agg else None
    if pool_name is None or nofc_name is None:
        return ("(The interpretation compares the max-pool variant with the variant without pooling; "
                "run both to get it.)")
    pool, nofc, nogap = agg[pool_name], agg[nofc_name], agg.get("none-gap")
    p = [f"On **{dataset}** ({info.get('train')} training images, {epochs} epoch(s)), the pooled CNN "
         f"reached {pct(pool['acc'], False)}% test accuracy, "
         f"{compare(pool['acc'], nofc['acc'], n_test)} the same convolutions without pooling and an FC head "
         f"({pct(nofc['acc'], False)}%)."]
    mac_ratio = nofc["macs"] / max(pool["macs"], 1)
    time_ratio = nofc["seconds_per_epoch"][0] / max(pool["seconds_per_epoch"][0], 1e-9)
    param_ratio = nofc["params"] / max(pool["params"], 1)
    p.append(f"Pooling is what keeps it cheap: without it the same convolutions run on "
             f"{'larger' if mac_ratio > 1 else 'equal'} maps ({mac_ratio:.1f}× the multiply-adds, "
             f"{time_ratio:.1f}× the time per epoch here), and an FC head on the full-resolution map needs "
             f"{param_ratio:.1f}× the parameters ({nofc['params']:,} vs {pool['params']:,}).")
    if not ks or any(f"shift{k}_acc" not in pool for k in ks):
        return " ".join(p)
    chance = 1.0 / max(info.get("classes", 10), 2)
    if min(pool["acc"][0], nofc["acc"][0]) < chance + 0.5 * (1 - chance):
        p.append(f"These nets are still far from trained (chance is {100 * chance:.0f}%), so their shift "
                 f"numbers say little about robustness: an untrained net is \"robust\" because it is guessing. "
                 f"Run a larger budget to measure it.")
        return " ".join(p)
    k_small = 2 if 2 in ks else ks[0]
    k_max = max(ks)

    def drop(d, k):
        return d["acc"][0] - d[f"shift{k}_acc"][0]

    parts = [f"`{n}` {pct(d[f'shift{k_small}_acc'], False)}% ({-100 * drop(d, k_small):+.1f})"
             for n, d in agg.items() if f"shift{k_small}_acc" in d]
    p.append(f"Moved by {k_small} pixels, the test images are classified correctly by " + ", ".join(parts)
             + f"; at {k_max} pixels the pooled net keeps {pct(pool[f'shift{k_max}_acc'], False)}% and the "
               f"unpooled FC net {pct(nofc[f'shift{k_max}_acc'], False)}%.")
    verdicts = []
    for k in sorted({k_small, k_max}):
        key = f"shift{k}_acc"
        gap = drop(nofc, k) - drop(pool, k)
        verdicts.append((k, gap, noise(pool[key], nofc[key], n_test)))
    if any(g > nz for _, g, nz in verdicts) and all(g > -nz for _, g, nz in verdicts):
        k, g, _ = max(verdicts, key=lambda t: t[1] - t[2])
        p.append(f"This is the lecture's claim in numbers: at {k} pixels the pooled net loses {100 * g:.1f} "
                 f"points less than the unpooled one — a 2×2 max does not care where in its window a feature "
                 f"fired, while an FC layer on the full map has a separate weight for every position.")
    elif any(g < -nz for _, g, nz in verdicts):
        p.append("Here the unpooled FC net was *more* shift-robust than the pooled one, against the lecture's "
                 "claim; with this small budget take it as a sign to rerun with more epochs (--budget large).")
    else:
        p.append("Here the pooled and unpooled nets lost about the same under shifts (differences within "
                 "noise): with 2×2 windows and a position-specific FC head on top, max pooling alone buys "
                 "only a pixel or so of tolerance.")
    if nogap and f"shift{k_max}_acc" in nogap:
        rf = _receptive_field("none-gap", n_convs)
        rf_pool = _receptive_field(pool_name, n_convs)
        if drop(nogap, k_max) < 0.5 * max(drop(pool, k_max), 1e-9):
            if pool["acc"][0] - nogap["acc"][0] > noise(pool["acc"], nogap["acc"], n_test):
                p.append(f"The global-average net shows the other side of the trade: it averages away *all* "
                         f"position, so shifts barely matter to it ({pct(nogap['acc'], False)}% → "
                         f"{pct(nogap[f'shift{k_max}_acc'], False)}% at {k_max} px), but without pooling each "
                         f"averaged feature saw only a {rf}×{rf} patch (after the pools: {rf_pool}×{rf_pool}), "
                         f"too little to tell the classes apart, so it is far less accurate.")
            else:
                p.append(f"The global-average net, which discards position all at once at the end, was the most "
                         f"shift-robust ({pct(nogap['acc'], False)}% → {pct(nogap[f'shift{k_max}_acc'], False)}% "
                         f"at {k_max} px) without losing accuracy.")
    p.append("Either way, for images the label is *what* the object is, and throwing away a few pixels of "
             "*where* costs little or nothing.")
    return " ".join(p)


# ---------------------------------------------------------------------------
# Go
# ---------------------------------------------------------------------------

def go_table(agg) -> list[str]:
    head = ["Variant", "Params", "Mult-adds", "s/epoch", "Train loss", "Top-1 %", "Off by one point %",
            "Within 1 point %", "Top-5 %", "On an occupied point %"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for name, d in agg.items():
        lines.append("| " + " | ".join([f"`{name}` {d['label']}", f"{d['params']:,}", human(d["macs"]),
                                         num(d["seconds_per_epoch"], 1), num(d["train_loss"]), pct(d["top1"]), pct(d["near"]),
                                         pct(d["within1"]), pct(d["top5"]), pct(d["occupied"])]) + " |")
    return lines


def go_text(agg, info: dict, cfg: dict, image_aggs: dict) -> str:
    n_test = info.get("test", 100)
    base = agg.get("alphago")
    pooled = [(n, agg[n]) for n in ("pooled-upsample", "pooled-fc") if n in agg]
    if base is None or not pooled:
        return "(The answer compares `alphago` with a pooled variant; run both to get it.)"
    side = 19
    for _ in set(cfg.get("go_pool_after", (1, 3))):
        side = math.ceil(side / 2)
    p = [f"Trained on the same {info.get('train')} positions ({cfg.get('go_epochs')} epoch(s), 8-fold board "
         f"symmetry augmentation) and tested on {n_test} positions from other games, the AlphaGo net without "
         f"pooling predicts the move played exactly in {pct(base['top1'], False)}% of positions."]
    chance = 1 / 250
    best_name, best = max(pooled, key=lambda t: t[1]["top1"][0])
    for name, d in pooled:
        what = "upsampling back to 19×19" if name == "pooled-upsample" else "a fully connected layer to the 361 points"
        p.append(f"With 2×2 max pooling after layer(s) {', '.join(map(str, cfg.get('go_pool_after', (1, 3))))} "
                 f"(19×19 → {side}×{side}) and {what}, the same net gets {pct(d['top1'], False)}%: "
                 f"{compare(d['top1'], base['top1'], n_test)} without pooling.")
    worse = [n for n, d in pooled if base["top1"][0] - d["top1"][0] > noise(base["top1"], d["top1"], n_test)]
    d = agg.get("pooled-upsample", best)
    ratio = d["within1"][0] / max(d["top1"][0], 1e-9)
    near_gap = d["near"][0] - base["near"][0]
    if near_gap > noise(d["near"], base["near"], n_test) and ratio >= 1.5:
        p.append(f"The pooled net knows roughly *where* to play but not *exactly*: its move is within one point "
                 f"of the real one in {pct(d['within1'], False)}% of positions — {ratio:.1f}× its exact hits — "
                 f"and it is off by exactly one point in {pct(d['near'], False)}% (the unpooled net: "
                 f"{pct(base['near'], False)}%).")
    else:
        p.append(f"Its move is within one point of the real one in {pct(d['within1'], False)}% of positions "
                 f"(exact: {pct(d['top1'], False)}%; off by one point: {pct(d['near'], False)}%, unpooled "
                 f"{pct(base['near'], False)}%).")
    if d["occupied"][0] - base["occupied"][0] > noise(d["occupied"], base["occupied"], n_test):
        p.append(f"In {pct(d['occupied'], False)}% of positions its first choice is a point that already holds a "
                 f"stone, an illegal move (unpooled: {pct(base['occupied'], False)}%): after pooling, the net "
                 f"cannot even tell an empty point from its occupied neighbour.")
    fc = agg.get("pooled-fc")
    if fc is not None and "train_loss" in fc and "train_loss" in base:
        if fc["train_loss"][0] - base["train_loss"][0] > 0.5:
            p.append(f"The fully connected head does not even fit its training positions (final training loss "
                     f"{fc['train_loss'][0]:.2f} vs {base['train_loss'][0]:.2f} without pooling; uniform "
                     f"guessing is {math.log(361):.2f}): with a separate weight for every (feature, cell, point) it "
                     f"has to learn each pattern anew at every place on the board, where a convolution learns it "
                     f"once and applies it everywhere.")
    img = None
    for ds, a in image_aggs.items():
        pool = a.get("maxpool-fc") or a.get("pool")
        if pool and "shift1_acc" in pool:
            img = (ds, pool)
            break
    answer = "**How to explain this?** "
    if img:
        answer += (f"For {img[0]}, moving the object by a pixel leaves the answer unchanged (the pooled CNN "
                   f"classifies {pct(img[1]['shift1_acc'], False)}% of 1-pixel-shifted test images correctly, "
                   f"{pct(img[1]['acc'], False)}% unshifted), so a layer that forgets where inside a 2×2 window "
                   f"a feature fired loses little that matters. ")
    answer += ("In Go the answer *is* a position: a move one point to the side is a different move — often "
               "a bad one, or an illegal one on an occupied point — and a single stone one point away can "
               "change the meaning of the whole group. Max pooling throws exactly that information away, and "
               "no head can bring it back. That is why AlphaGo's policy network has no pooling at all: "
               "stride-1 convolutions with zero padding keep the full 19×19 resolution in every layer, and the "
               "final 1×1 convolution with a bias per point reads out one logit per intersection.")
    if not worse:
        answer += (f" (Caveat: in *this* run the top-1 gap is within noise — {n_test} test positions, "
                   f"{cfg.get('seeds')} seed(s); rerun with more games, e.g. --go with prepared shards, or "
                   f"--budget large, to measure it properly.)")
    elif base["top1"][0] < 5 * chance:
        answer += " (Caveat: all top-1 numbers here are low because the training set is tiny.)"
    p.append(answer)
    return " ".join(p)


# ---------------------------------------------------------------------------

def render(results: dict) -> str:
    cfg = results["config"]
    rows = results["rows"]
    lines = ["# Pooling study: why does AlphaGo's policy network have no pooling?", "",
             "The CNN lectures teach that pooling works for images (\"subsampling the pixels will not change "
             "the object\") and then ask of AlphaGo, which uses no pooling: *How to explain this?* Below, "
             "matched networks — the same convolutions, filters, optimizer (Adam), data, data order and "
             "training budget — differ only in their downsampling. Numbers are mean ± std over "
             f"{cfg['seeds']} seed(s) (seeds {cfg['first_seed']}..{cfg['first_seed'] + cfg['seeds'] - 1}).", ""]
    image_aggs = {}
    shifts = tuple(cfg.get("shifts", (0, 1, 2, 3, 4)))
    for info in results.get("images") or []:
        agg = aggregate(rows, "images", info["name"])
        if not agg:
            continue
        image_aggs[info["name"]] = agg
        lines += [f"## Images: {info['name']}", "",
                  f"Data: {info['source']}; {info['train']} training / {info['test']} test images, "
                  f"{info['size']}×{info['size']}, {info['classes']} classes. Model: "
                  f"`{cfg['image_model']}` channels {tuple(cfg['channels'])}, {cfg['image_epochs']} epoch(s), "
                  f"batch {cfg['image_batch']}, Adam lr {cfg['image_lr']}. \"shift k px\" = accuracy on the "
                  f"test images moved k pixels (zero fill), mean of right/left/down/up.", ""]
        lines += image_table(agg, shifts) + [""]
        n_convs = len(cfg["channels"]) if cfg.get("image_model", "simple_cnn") == "simple_cnn" else 2
        lines += [image_text(agg, info["name"], info, cfg["image_epochs"], shifts, n_convs), ""]
    if results.get("go"):
        info = results["go"]
        agg = aggregate(rows, "go")
        if agg:
            lines += ["## Go: move prediction", "",
                      f"Data: {info['source']}; {info['train']} training / {info['test']} test positions, "
                      f"{info['planes']} AlphaGo feature planes. Model: {cfg['go_layers']} conv layers × "
                      f"{cfg['go_filters']} filters, {cfg['go_epochs']} epoch(s), batch {cfg['go_batch']}, "
                      f"Adam lr {cfg['go_lr']}, random board symmetry per training example. \"Off by one "
                      f"point\" = the predicted point is one of the 8 points around the move played; "
                      f"\"on an occupied point\" = an illegal first choice.", ""]
            lines += go_table(agg) + [""]
            lines += [go_text(agg, info, cfg, image_aggs), ""]
    if results.get("plots"):
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in results["plots"]] + [""]
    env = results.get("environment", {})
    lines += ["## Run", "",
              f"Budget `{cfg['budget']}`; device {env.get('device')}, {env.get('threads')} thread(s), "
              f"torch {env.get('torch')}; wall time {results.get('wall_seconds')} s. Per-seed numbers: "
              f"results.csv; per-epoch curves: history.csv; all settings: config.json. The same settings on "
              f"the same machine and thread count give the same numbers.", ""]
    return "\n".join(lines)
