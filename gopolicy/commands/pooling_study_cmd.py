"""`gopolicy pooling-study`: pooling helps image CNNs, so why does AlphaGo use none?

Trains matched CNNs (same convolutions, filters, optimizer, data and budget;
only the downsampling differs) on images and on Go positions and writes
report.md, results.csv, history.csv, config.json and PNG plots to --out.
"""
from __future__ import annotations

import argparse
import sys

from gopolicy.commands.arg_types import (
    error_text,
    input_path,
    int_between,
    non_negative_int,
    output_dir,
    positive_float,
    positive_int,
    refuse_paths,
)

_EPILOG = """\
data:
  --images NAME...  mnist, fashion-mnist, usps: looked for in $GOPOLICY_IMAGES/<name>/,
                    <repo>/../shared/data/images/<name>/, /usr/share/datasets/<name>/ (Debian's
                    dataset-fashion-mnist), ~/.cache/gopolicy/images/<name>/ (--download puts them
                    there, sha256-verified). digits = "rendered digits", generated offline from
                    matplotlib's bundled DejaVu fonts. A folder (IDX / USPS text / one .npz) or an
                    .npz file also works. auto (default): the first of mnist, fashion-mnist, usps
                    found on disk, else rendered digits. none: skip the image task.
  --go PATH...      prepared shards (a folder with manifest.json) or SGF files/folders/archives;
                    default: the games shipped in data/selfplay. --go none skips the Go task.

budgets (every variant of a task gets the same one):
  tiny     seconds: a smoke test
  default  10k images x 3 epochs x 4 variants; Go: 6-layer x 32-filter nets x 12 epochs x 3 variants;
           3 seeds; about 3 minutes on a quiet 2-core CPU (about twice that with --threads 1)
  large    all training images x 8 epochs, channels 32,64; Go: AlphaGo's 13 layers x 64 filters x 15
           epochs (up to 50k positions); 3 seeds. Over an hour on one CPU core: use --device auto on a GPU
examples:
  gopolicy pooling-study                                  # the default run, ./pooling_study_out
  gopolicy pooling-study --images mnist fashion-mnist usps --seeds 3 --out /tmp/ps
  gopolicy pooling-study --images none --go SHARDS --go-max-positions 100000 --budget large
                                                          # SHARDS: a folder made by gopolicy prepare
"""


def _channels(text: str) -> tuple[int, ...]:
    try:
        ch = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not ch or min(ch) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return ch


def add_parser(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help="pooling vs no pooling on images and on Go (report, table, plots)",
                       description=__doc__, epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="pooling_study_out", help="output folder (default: %(default)s)")
    p.add_argument("--images", nargs="+", metavar="NAME", default=None,
                   help="image data set(s): auto, mnist, fashion-mnist, usps, digits, a path, or none")
    p.add_argument("--go", nargs="+", metavar="PATH", default=None,
                   help="Go positions: prepared shards or SGF files/folders/archives, or none")
    p.add_argument("--budget", choices=["tiny", "default", "large"], default="default",
                   help="preset sizes (default: %(default)s); the flags below override single settings")
    p.add_argument("--seeds", type=positive_int, help="number of seeds (runs per variant)")
    p.add_argument("--first-seed", type=non_negative_int, help="first seed (default 0)")
    g = p.add_argument_group("images")
    g.add_argument("--epochs", type=positive_int, dest="image_epochs", help="image training epochs")
    g.add_argument("--train-images", type=non_negative_int, help="training images used (0 = all)")
    g.add_argument("--test-images", type=non_negative_int, help="test images used (0 = all)")
    g.add_argument("--channels", type=_channels, help="conv channels of the image CNN, e.g. 32,64")
    g.add_argument("--image-model", help="cnn_core model for images (default simple_cnn; models with a "
                                         "`pooling` argument, e.g. lenet, use variants pool,nopool)")
    g.add_argument("--image-variants", help="comma-separated, default maxpool-fc,none-fc,none-gap,stride-fc")
    g.add_argument("--image-batch", type=positive_int)
    g.add_argument("--image-lr", type=positive_float)
    g.add_argument("--download", action="store_true",
                   help="download missing official image files (internet; sha256-checked)")
    g = p.add_argument_group("Go")
    g.add_argument("--go-epochs", type=positive_int)
    g.add_argument("--go-filters", type=positive_int)
    g.add_argument("--go-layers", type=positive_int)
    g.add_argument("--go-planes", type=int_between(1, 49), help="first k of the 48 feature planes (4, 12, 20, 48)")
    g.add_argument("--go-pool-after", type=_channels, help="layers followed by a 2x2 max pool, e.g. 1,3")
    g.add_argument("--go-variants", help="comma-separated, default alphago,pooled-upsample,pooled-fc")
    g.add_argument("--go-max-games", type=positive_int, help="use at most this many SGF games")
    g.add_argument("--go-max-positions", type=positive_int, help="training positions cap")
    g.add_argument("--go-max-test", type=positive_int, help="test positions cap")
    g.add_argument("--go-batch", type=positive_int)
    g.add_argument("--go-lr", type=positive_float)
    g = p.add_argument_group("machine")
    g.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto")
    g.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                   help="auto: bf16 autocast + channels_last where the CPU has native bf16, else fp32")
    g.add_argument("--threads", type=non_negative_int, default=0, help="torch threads (default: the CPUs idle at start by the load average, 1 to 4: "
                        "on a busy shared machine 1 is much faster than an oversubscribed team)")
    g.add_argument("--no-plots", action="store_true")
    g.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)
    return p


def config_from_args(args: argparse.Namespace):
    from gopolicy.pooling_study.study import StudyConfig

    def listed(value):
        if value is None:
            return None
        return [] if [v.lower() for v in value] == ["none"] else list(value)

    images = listed(args.images)
    overrides = dict(
        out=args.out, images=["auto"] if images is None else images, go=listed(args.go),
        seeds=args.seeds, first_seed=args.first_seed, image_epochs=args.image_epochs,
        train_images=args.train_images, test_images=args.test_images, channels=args.channels,
        image_model=args.image_model, image_batch=args.image_batch, image_lr=args.image_lr,
        go_epochs=args.go_epochs, go_filters=args.go_filters, go_layers=args.go_layers,
        go_planes=args.go_planes, go_pool_after=args.go_pool_after, go_max_games=args.go_max_games,
        go_max_positions=args.go_max_positions, go_max_test=args.go_max_test, go_batch=args.go_batch,
        go_lr=args.go_lr, device=args.device, precision=args.precision, threads=args.threads,
        download=args.download, plots=not args.no_plots, quiet=args.quiet,
        image_variants=tuple(args.image_variants.split(",")) if args.image_variants else None,
        go_variants=tuple(args.go_variants.split(",")) if args.go_variants else None)
    if args.image_model and args.image_model != "simple_cnn" and not args.image_variants:
        overrides["image_variants"] = ("pool", "nopool")
    cfg = StudyConfig.from_budget(args.budget, **overrides)
    if args.go is not None and listed(args.go) == []:
        cfg.go = []
    return cfg


def run(args: argparse.Namespace) -> int:
    go = [] if args.go is None or [v.lower() for v in args.go] == ["none"] else args.go
    rc = refuse_paths("pooling-study", [("--go", go, input_path), ("--out", args.out, output_dir)])
    if rc is not None:                  # before torch is imported
        return rc
    from gopolicy.pooling_study.study import run_study

    try:
        cfg = config_from_args(args)
        if cfg.seeds < 1:
            raise ValueError("--seeds must be >= 1")
        run_study(cfg)
    except (ValueError, OSError) as exc:
        print(f"gopolicy pooling-study: error: {error_text(exc)}", file=sys.stderr)
        return 2
    return 0
