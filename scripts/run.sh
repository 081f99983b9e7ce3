#!/usr/bin/env bash
# Set up the environment (first run only) and run the main job on the bundled default:
# the bundled policy network plays one game through the GTP engine, against GNU Go
# when it is installed (else against itself), showing the board and the SGF path.
# Without a bundled model yet, it prints the AlphaGo policy net's layer summary.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
if [ -f "$ROOT/data/bundled/policy.pt" ] && gopolicy play --help >/dev/null 2>&1; then
    exec gopolicy play "$@"
fi
exec gopolicy summary alphago_policy --filters 192
