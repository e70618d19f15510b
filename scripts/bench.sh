#!/usr/bin/env bash
# Fleet-scale benchmark against the AWS-rules simulator (release build; takes a few minutes).
# Options are passed to the benchmark, e.g.: scripts/bench.sh --sizes 1000 --quota 50
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench fleet -- "$@"
