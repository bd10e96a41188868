#!/usr/bin/env bash
# A/B of `npm run bench -- vision` between a base commit and this work tree, alternated in
# separate processes (base, here, base, here, ...) so both see the same machine load.
#   scripts/bench-ab-vision.sh [base-commit (default: main)] [pairs (default: 3)]
# Builds the base into a temporary folder (git archive, node_modules and model files linked
# from this tree, tsc); this tree must be built (npm run build). Prints each run's ratio lines.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
base=${1:-main}
pairs=${2:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$here" archive "$base" | tar -x -C "$tmp"
ln -s "$(readlink -f "$here/node_modules")" "$tmp/node_modules"
for f in "$here"/models/*.onnx; do ln -sf "$f" "$tmp/models/$(basename "$f")"; done
(cd "$tmp" && npx tsc -p tsconfig.json)
export LFR_EDGE_SHARED_DATA=${LFR_EDGE_SHARED_DATA:-$(cd "$here/.." && pwd)/shared/data}
for i in $(seq "$pairs"); do
  for side in base here; do
    dir=$([ "$side" = base ] && echo "$tmp" || echo "$here")
    echo "== $side ($([ "$side" = base ] && echo "$base" || git -C "$here" rev-parse --short HEAD)), load $(cut -d' ' -f1-3 /proc/loadavg)"
    (cd "$dir" && node dist/bench/run.js vision | grep -E 'per image|per face|via worker')
  done
done
