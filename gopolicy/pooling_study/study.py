"""Run the pooling study: train the matched variants on images and on Go, measure,
and write report.md, results.csv, history.csv, config.json and the plots."""
from __future__ import annotations

import csv
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import cnn_core
from gopolicy.net.device import autocast, select_device
from gopolicy.pooling_study import go_task, images, plots, report, shifts
from gopolicy.pooling_study.train_loop import Progress, fit, predict_logits, set_seed, to_float
from gopolicy.pooling_study.variants import go_variants, image_variants

# Budget presets: what "same training budget" means for each task (every
# variant of a task gets exactly this). Flags override single fields.
BUDGETS = {
    # a few seconds: for tests and smoke runs
    "tiny": dict(train_images=256, test_images=128, image_epochs=1, channels=(4, 8), go_epochs=1,
                 go_filters=8, go_layers=4, go_max_games=4, go_max_positions=300, go_max_test=100,
                 seeds=1, shifts=(0, 1, 2, 3, 4)),
    # the no-argument run: a few minutes on a 2-core CPU
    "default": dict(train_images=10000, test_images=2000, image_epochs=3, channels=(16, 32), go_epochs=12,
                    go_filters=32, go_layers=6, go_max_games=None, go_max_positions=None, go_max_test=None,
                    seeds=3, shifts=(0, 1, 2, 3, 4)),
    # closer to the lectures' setting (all training images, AlphaGo's 13 layers); tens of minutes+
    "large": dict(train_images=0, test_images=0, image_epochs=8, channels=(32, 64), go_epochs=15,
                  go_filters=64, go_layers=13, go_max_games=None, go_max_positions=50000, go_max_test=10000,
                  seeds=3, shifts=(0, 1, 2, 3, 4)),
}


@dataclass
class StudyConfig:
    out: Path = Path("pooling_study_out")
    images: list[str] = field(default_factory=lambda: ["auto"])   # [] = skip the image task
    go: list[str] | None = None          # None = shipped games; [] = skip the Go task
    budget: str = "default"
    train_images: int = 10000            # 0 = all
    test_images: int = 2000
    image_epochs: int = 3
    channels: tuple = (16, 32)
    image_model: str = "simple_cnn"
    image_variants: tuple = ("maxpool-fc", "none-fc", "none-gap", "stride-fc")
    image_batch: int = 64
    image_lr: float = 1e-3
    shifts: tuple = (0, 1, 2, 3, 4)
    go_epochs: int = 12
    go_filters: int = 32
    go_layers: int = 6
    go_planes: int = 48
    go_pool_after: tuple = (1, 3)
    go_variants: tuple = ("alphago", "pooled-upsample", "pooled-fc")
    go_max_games: int | None = None
    go_max_positions: int | None = None
    go_max_test: int | None = None
    go_test_fraction: float = 0.15
    go_batch: int = 64
    go_lr: float = 1e-3
    seeds: int = 3
    first_seed: int = 0
    device: str = "cpu"
    precision: str = "auto"
    threads: int = 0                      # 0 = the idle CPUs, 1 to 4 (see _threads)
    download: bool = False
    plots: bool = True
    quiet: bool = False

    @classmethod
    def from_budget(cls, budget: str = "default", **overrides) -> "StudyConfig":
        if budget not in BUDGETS:
            raise ValueError(f"unknown budget {budget!r}; known: {', '.join(BUDGETS)}")
        kw = dict(BUDGETS[budget], budget=budget)
        kw.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**kw)


# ---------------------------------------------------------------------------

def _calibrate(model, x, y, batch_size: int, dev, augment=None) -> float:
    """Seconds per training example of ``model`` on this machine: the second of
    two Adam steps on one batch (the first pays for kernel set-up). Used only
    for the ETA; the model is thrown away afterwards."""
    model = dev.prepare_model(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xb, yb = torch.as_tensor(x[:batch_size]), torch.as_tensor(y[:batch_size], dtype=torch.long)
    seconds = 0.0
    for step in range(2):
        t0 = time.perf_counter()
        xa, ya = augment(xb, yb, torch.Generator().manual_seed(0)) if augment else (xb, yb)
        with autocast(dev):
            loss = F.cross_entropy(model(to_float(xa, dev)).float(), ya.to(dev.device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        seconds = time.perf_counter() - t0
    return seconds / max(len(yb), 1)


def _threads(requested: int) -> int:
    """Torch threads: as asked, else the CPUs that are idle now (1 to 4), by the 1-minute load
    average. On a shared machine an OpenMP team competing with other processes for the cores
    was 5-20x slower here than one thread (the project's 2-core CPU), while on a quiet machine
    every idle core helps; the load at start tells the two apart."""
    if requested and requested > 0:
        return requested
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:  # pragma: no cover - no load average on this platform
        busy = n / 2
    return max(1, min(int(n - busy + 0.5), 4))


@dataclass
class _Job:
    """One training run of the study: a variant on a task's data with one seed."""
    task: str            # "images" | "go"
    dataset: str
    variant: object
    seed: int
    data: object
    summary: object      # cnn_core.summary of the variant
    cost: float          # planned seconds (training and evaluation), for the ETA


def run_study(cfg: StudyConfig) -> dict:
    """Run everything ``cfg`` asks for; returns the results dict (also written to cfg.out)."""
    t_start = time.perf_counter()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(_threads(cfg.threads))
    dev = select_device(cfg.device, cfg.precision)
    log = (lambda m: None) if cfg.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    log(f"[pooling-study] device {dev.describe()}, {torch.get_num_threads()} thread(s), budget {cfg.budget}, "
        f"seeds {cfg.seeds}, out {out}")
    seeds = list(range(cfg.first_seed, cfg.first_seed + cfg.seeds))
    # data first (so the ETA covers all the training)
    image_sets = _load_image_sets(cfg, log)
    go_data = _load_go_data(cfg, log)
    jobs = _plan_jobs(cfg, image_sets, go_data, dev, seeds)
    progress = Progress(sum(j.cost for j in jobs), enabled=not cfg.quiet)
    rows, history, examples = [], [], {}
    for job in jobs:
        row, model = _run_job(job, cfg, dev, progress, history)
        if job.task == "go" and job.seed == seeds[0]:
            examples[job.variant.name] = _go_example(model, job.data, dev, predict_logits)
        rows.append(row)
    results = _results(cfg, rows, history, examples, image_sets, go_data, dev)
    _write_outputs(results, cfg, out, t_start, log)
    return results


def _load_image_sets(cfg: StudyConfig, log) -> list:
    image_sets = []
    for name in cfg.images:
        key = images.auto_dataset() if name == "auto" else name
        t0 = time.perf_counter()
        data = images.load_images(key, download_missing=cfg.download, train=cfg.train_images or None,
                                  test=cfg.test_images or None, log=log)
        log(f"[pooling-study] images: {data.name}: {len(data.y_train)} train / {len(data.y_test)} test "
            f"{data.image_size}x{data.image_size}, {data.num_classes} classes "
            f"({time.perf_counter() - t0:.1f}s; {data.source})")
        image_sets.append(data)
    return image_sets


def _load_go_data(cfg: StudyConfig, log):
    if not (cfg.go is None or cfg.go):
        return None
    t0 = time.perf_counter()
    go_data = go_task.load_go(cfg.go or None, planes=cfg.go_planes, max_games=cfg.go_max_games,
                              max_positions=cfg.go_max_positions, max_test=cfg.go_max_test,
                              test_fraction=cfg.go_test_fraction, seed=cfg.first_seed, log=log)
    log(f"[pooling-study] go: {len(go_data.y_train)} train / {len(go_data.y_test)} test positions, "
        f"{go_data.planes} planes ({time.perf_counter() - t0:.1f}s; {go_data.source})")
    return go_data


def _plan_jobs(cfg: StudyConfig, image_sets: list, go_data, dev, seeds: list[int]) -> list[_Job]:
    """Every (variant, seed) of both tasks with its size and planned cost, seed-major."""
    jobs = []
    for data in image_sets:
        vs = image_variants(cfg.image_variants, model=cfg.image_model, in_channels=data.channels,
                            num_classes=data.num_classes, input_size=data.image_size, channels=cfg.channels)
        n_shift_evals = 1 + 4 * sum(1 for k in cfg.shifts if k)
        for v in vs:
            summ = cnn_core.summary(v.build(), (data.channels, data.image_size, data.image_size))
            per_example = _calibrate(v.build(), data.x_train, data.y_train, cfg.image_batch, dev)
            # planned seconds: training, plus evaluation passes at ~1/3 of a training step
            cost = per_example * (len(data.y_train) * cfg.image_epochs
                                  + len(data.y_test) * (cfg.image_epochs + n_shift_evals) / 3)
            jobs += [_Job("images", data.name, v, s, data, summ, cost) for s in seeds]
    if go_data is not None:
        vs = go_variants(cfg.go_variants, planes=go_data.planes, filters=cfg.go_filters, layers=cfg.go_layers,
                         board_size=go_data.board_size, pool_after=cfg.go_pool_after)
        augment = go_task.symmetry_augment(go_data.board_size)
        for v in vs:
            summ = cnn_core.summary(v.build(), (go_data.planes, go_data.board_size, go_data.board_size))
            per_example = _calibrate(v.build(), go_data.x_train, go_data.y_train, cfg.go_batch, dev, augment)
            cost = per_example * (len(go_data.y_train) * cfg.go_epochs
                                  + len(go_data.y_test) * (cfg.go_epochs + 1) / 3)
            jobs += [_Job("go", "go", v, s, go_data, summ, cost) for s in seeds]
    # seed-major order: every variant of seed 0 first, so a stopped run still compares
    jobs.sort(key=lambda j: (0 if j.task == "images" else 1, j.dataset, j.seed))
    return jobs


def _task_training(job: _Job, cfg: StudyConfig, dev):
    """``(evaluate(model) -> metrics, training inputs, augmentation, batch size, lr)`` of a job's task."""
    data = job.data
    if job.task == "images":
        xte, yte = torch.from_numpy(data.x_test), data.y_test

        def evaluate(m):
            pred = predict_logits(m, xte, dev).argmax(1).numpy()
            return {"acc": float(np.mean(pred == yte))}
        return evaluate, torch.from_numpy(data.x_train), None, cfg.image_batch, cfg.image_lr

    def evaluate(m):
        logits = predict_logits(m, data.x_test, dev)
        return go_task.move_metrics(logits, data.y_test, data.x_test, data.board_size)
    augment = go_task.symmetry_augment(data.board_size)
    return evaluate, torch.from_numpy(data.x_train), augment, cfg.go_batch, cfg.go_lr


def _run_job(job: _Job, cfg: StudyConfig, dev, progress, history: list):
    """Train one job's model (its epochs logged and appended to ``history``),
    then test it; returns its results row and the trained model."""
    task, v, seed, data = job.task, job.variant, job.seed, job.data
    set_seed(seed)
    model = v.build()
    tag = f"{task}/{job.dataset} {v.name} seed {seed}"
    epochs = cfg.image_epochs if task == "images" else cfg.go_epochs
    per_epoch_units = job.cost / (epochs + 1)
    evaluate, x_train, augment, batch_size, lr = _task_training(job, cfg, dev)

    def on_epoch(st):
        progress.advance(per_epoch_units)
        acc = st.metrics.get("acc", st.metrics.get("top1", float("nan")))
        progress.log(f"{tag} epoch {st.epoch}/{epochs} loss {st.train_loss:.3f} "
                     f"{'acc' if task == 'images' else 'top1'} {100 * acc:.2f}% {st.seconds:.1f}s")
        history.append(dict(task=task, dataset=job.dataset, variant=v.name, seed=seed, epoch=st.epoch,
                            train_loss=round(st.train_loss, 5), seconds=round(st.seconds, 3),
                            **{k: round(val, 5) for k, val in st.metrics.items()}))

    hist = fit(model, x_train, data.y_train, seed=seed, cfg=dev, evaluate=evaluate, augment=augment,
               on_epoch=on_epoch, epochs=epochs, batch_size=batch_size, lr=lr)
    train_s = sum(h.seconds for h in hist)
    row = dict(task=task, dataset=job.dataset, variant=v.name, label=v.label, seed=seed, model=v.model,
               params=job.summary.total_params, macs=job.summary.total_macs, epochs=epochs,
               train_examples=len(data.y_train), test_examples=len(data.y_test),
               train_seconds=round(train_s, 2), seconds_per_epoch=round(train_s / max(epochs, 1), 3),
               train_loss=round(hist[-1].train_loss, 5))
    if task == "images":
        t0 = time.perf_counter()
        acc = shifts.shift_accuracy(lambda x, m=model: predict_logits(m, x, dev).argmax(1).numpy(),
                                    torch.from_numpy(data.x_test), data.y_test, cfg.shifts)
        row["acc"] = acc[0] if 0 in acc else hist[-1].metrics["acc"]
        row.update({f"shift{k}_acc": a for k, a in acc.items() if k})
        progress.advance(per_epoch_units)
        progress.log(f"{tag} shifted test: " + ", ".join(f"{k}px {100 * a:.1f}%" for k, a in acc.items())
                     + f" ({time.perf_counter() - t0:.1f}s)")
    else:
        row.update(hist[-1].metrics)
        progress.advance(per_epoch_units)
    return row, model


def _results(cfg: StudyConfig, rows, history, examples, image_sets, go_data, dev) -> dict:
    return dict(config=_jsonable(asdict(cfg)), rows=rows, history=history, go_examples=examples,
                images=[dict(name=d.name, source=d.source, train=len(d.y_train), test=len(d.y_test),
                             size=d.image_size, classes=d.num_classes) for d in image_sets],
                go=None if go_data is None else dict(
                    source=go_data.source, train=len(go_data.y_train), test=len(go_data.y_test),
                    planes=go_data.planes, train_games=go_data.train_games, test_games=go_data.test_games),
                environment=dict(device=dev.describe(), threads=torch.get_num_threads(),
                                 torch=torch.__version__, python=platform.python_version(),
                                 machine=platform.machine(), cpus=os.cpu_count()),
                wall_seconds=None)


def _write_outputs(results: dict, cfg: StudyConfig, out: Path, t_start: float, log) -> None:
    """results.csv, history.csv, the plots, report.md and config.json."""
    write_csv(out / "results.csv", results["rows"])
    write_csv(out / "history.csv", results["history"])
    plot_files = plots.make_plots(results, out) if cfg.plots else []
    results["plots"] = [p.name for p in plot_files]
    results["wall_seconds"] = round(time.perf_counter() - t_start, 1)
    (out / "report.md").write_text(report.render(results))
    (out / "config.json").write_text(json.dumps(dict(config=results["config"],
                                                     environment=results["environment"],
                                                     wall_seconds=results["wall_seconds"]), indent=2))
    log(f"[pooling-study] done in {results['wall_seconds']:.0f}s: {out / 'report.md'}, "
        f"{out / 'results.csv'}, {len(plot_files)} plot(s)")


def _go_example(model, data, dev, predict_logits) -> dict:
    """The policy of ``model`` on one fixed test position (the first with at
    least 40 stones, else the fullest), for the picture."""
    if len(data.y_test) == 0:
        return {}
    stones = (data.x_test[:, 0].astype(np.int64) + data.x_test[:, 1]).reshape(len(data.y_test), -1).sum(1)
    candidates = np.nonzero(stones >= 40)[0]
    i = int(candidates[0]) if len(candidates) else int(np.argmax(stones))
    probs = torch.softmax(predict_logits(model, data.x_test[i:i + 1], dev), 1)[0].numpy()
    return dict(index=i, target=int(data.y_test[i]), probs=probs.tolist(),
                player=data.x_test[i, 0].astype(int).tolist(), opponent=data.x_test[i, 1].astype(int).tolist())


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_csv(path: Path, rows: list[dict]) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
