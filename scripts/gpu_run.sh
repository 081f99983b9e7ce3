#!/usr/bin/env bash
# One-shot training run for a machine with one CUDA GPU lent for a few minutes.
#
#   bash scripts/gpu_run.sh [--minutes 12] [--out gpu_out] [--wheels DIR] [SGF...] [-- TRAIN_FLAGS...]
#   bash scripts/gpu_run.sh --smoke --no-install --out /tmp/smoke      # the same script on the CPU, ~1 min
#
# Uses the machine's own Python (torch and numba already there; $PYTHON or python3;
# no network): installs the wheels given in --wheels DIR (e.g. sgfmill) and this
# project, streams the SGF inputs (default: ../shared/data/sgf/train beside the
# checkout) straight into training with the GPU defaults (bf16 autocast,
# channels_last, torch.compile, batch 1024, AdamW lr 2e-3, workers = cores - 1),
# stops cleanly by --minutes, and validates on every held-out game (split by game
# hash as `gopolicy prepare` splits). OUT then holds ckpt.pt, policy.pt (fp16),
# metrics.jsonl, curves.png, summary.json, log.txt, env.txt and gpu_util.csv.
# Run it again with the same --out to continue a run that was cut off (--resume).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
MINUTES=12
OUT="$ROOT/gpu_out"
WHEELS=""
SMOKE=0
INSTALL=1
SGF=()
EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) SMOKE=1 ;;
        --minutes) MINUTES="$2"; shift ;;
        --out) OUT="$2"; shift ;;
        --wheels) WHEELS="$2"; shift ;;
        --no-install) INSTALL=0 ;;
        --python) PY="$2"; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        --) shift; EXTRA=("$@"); break ;;
        -*) echo "gpu_run.sh: unknown option $1 (train flags go after --)" >&2; exit 2 ;;
        *) SGF+=("$1") ;;
    esac
    shift
done
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
exec > >(tee -a "$OUT/log.txt") 2>&1
echo "== gpu_run.sh $(date -u +%FT%TZ) smoke=$SMOKE minutes=$MINUTES out=$OUT"

# -- install (offline) ---------------------------------------------------------------
if [ -n "$WHEELS" ]; then
    "$PY" -m pip install --no-index --find-links "$WHEELS" "$WHEELS"/*.whl
fi
if [ "$INSTALL" = 1 ]; then
    "$PY" -m pip install --no-index --no-deps --no-build-isolation "$ROOT" \
        || { echo "gpu_run.sh: pip install of the project failed; running it from $ROOT"; export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"; }
else
    export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
fi
"$PY" - <<'EOF' | tee "$OUT/env.txt"
import os, platform, torch, numba, numpy, sgfmill, gopolicy
print("python", platform.python_version(), "torch", torch.__version__, "numba", numba.__version__,
      "numpy", numpy.__version__, "gopolicy", gopolicy.__file__)
print("cpus", os.cpu_count(), platform.processor() or platform.machine())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("cuda", torch.version.cuda, p.name, f"{p.total_memory / 2**30:.0f} GiB", "bf16", torch.cuda.is_bf16_supported())
else:
    print("cuda: none (CPU)")
EOF
grep -m1 'model name' /proc/cpuinfo >> "$OUT/env.txt" || true

# -- what to train on, and how ------------------------------------------------------
cores="$(nproc 2>/dev/null || echo 2)"
if [ "$SMOKE" = 1 ]; then
    # tiny model on the CPU: checks the whole path in about a minute
    [ ${#SGF[@]} -gt 0 ] || SGF=("$ROOT/data/selfplay" "$ROOT/data/results/match_gnugo_level10")
    LIMIT="$(awk -v m="$MINUTES" 'BEGIN { print (m < 0.4 ? m : 0.4) }')"
    FLAGS=(--device cpu --precision fp32 --no-compile --filters 16 --layers 3 --batch-size 64 --lr 1e-3
           --workers 1 --shuffle 4096 --threads 1 --log-every 20 --eval-every 200 --eval-positions 2048
           --val-fraction 0.1 --test-fraction 0.05)
else
    [ ${#SGF[@]} -gt 0 ] || SGF=("$ROOT/../shared/data/sgf/train")
    # the final validation, export and plot take about a minute
    LIMIT="$(awk -v m="$MINUTES" 'BEGIN { print (m > 2 ? m - 1 : m / 2) }')"
    # batch 1024: a batch of 256 leaves most of a large GPU idle on 19x19 inputs; AdamW's lr
    # scaled by sqrt(1024/256) from the 1e-3 measured at 256; warm-up 3% and clipping at 1 as the recipe
    FLAGS=(--device cuda --precision auto --compile --batch-size 1024 --lr 2e-3
           --workers "$(( cores > 1 ? cores - 1 : 1 ))" --log-every 100 --eval-every 2000 --eval-positions 0)
fi
RESUME=()
[ -f "$OUT/ckpt.pt" ] && RESUME=(--resume)

# -- GPU utilisation, sampled while training -----------------------------------------------
MON=""
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used,power.draw --format=csv -l 5 \
        > "$OUT/gpu_util.csv" 2>/dev/null &
    MON=$!
fi
stop_monitor() { [ -n "$MON" ] && kill "$MON" 2>/dev/null || true; }
trap stop_monitor EXIT

cd "$OUT"
set +e
"$PY" -m gopolicy train --sgf "${SGF[@]}" --out "$OUT" --time-limit "$LIMIT" --ckpt-minutes 1 \
    "${FLAGS[@]}" "${RESUME[@]}" "${EXTRA[@]}"
rc=$?
set -e
stop_monitor
# the held-out positions are cached for a resume only (a rerun recomputes them): keep OUT small
[ "$rc" = 0 ] && rm -f "$OUT/val_positions.npz"

# -- what it reached ---------------------------------------------------------------------
"$PY" - "$OUT" <<'EOF'
import csv, json, os, sys
out = sys.argv[1]
recs = [json.loads(x) for x in open(os.path.join(out, "metrics.jsonl")) if x.strip()] \
    if os.path.exists(os.path.join(out, "metrics.jsonl")) else []
train = [r for r in recs if "samples_per_s" in r]
val = [r for r in recs if "val_top1" in r]
if train:
    rates = [r["samples_per_s"] for r in train[len(train) // 4:]]   # past compile and warm-up
    print(f"gpu_run: {train[-1]['samples']:,} samples, {sum(rates) / len(rates):,.0f} samples/s "
          f"(mean after the first quarter), train top-1 {100 * train[-1]['top1']:.1f}%")
if val:
    print(f"gpu_run: held-out top-1 {100 * val[-1]['val_top1']:.2f}%, loss {val[-1]['val_loss']:.4f} "
          f"on {val[-1]['val_positions']:,} positions")
util = os.path.join(out, "gpu_util.csv")
if os.path.exists(util):
    vals = []
    for row in csv.reader(open(util)):
        try:
            vals.append(float(row[1].strip().split()[0]))
        except (IndexError, ValueError):
            pass
    if vals:
        print(f"gpu_run: GPU utilisation mean {sum(vals) / len(vals):.0f}%, max {max(vals):.0f}% ({len(vals)} samples)")
missing = [f for f in ("ckpt.pt", "policy.pt", "metrics.jsonl", "curves.png", "log.txt") if not os.path.exists(os.path.join(out, f))]
print("gpu_run: outputs in", out, "(missing: " + ", ".join(missing) + ")" if missing else "")
EOF
exit "$rc"
