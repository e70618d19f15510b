#!/usr/bin/env bash
# Runs the README's command examples as written (every `ddb-fleet ...` line of its ```sh
# blocks, in order) against moto with the demo fleet, in a scratch directory holding the files
# they name (fleet.csv and fleet.toml: the example inventories). An example fails the script if
# clap refuses it (an option that does not exist, a value of the wrong form) or if ddb-fleet
# panics; a refusal the README describes (no --yes without a terminal, a shard set not whole)
# is an answer, not a failure. Only `> /etc/...` is redirected into the scratch directory.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-moto.sh
cargo build --quiet --locked
bin_dir="$PWD/target/debug"
work=$(mktemp -d)
source scripts/moto-env.sh
trap 'stop_moto; rm -rf "$work"' EXIT
export RUST_LOG=error PATH="$bin_dir:$PATH"
python3 scripts/demo_fleet.py >/dev/null
mkdir -p "$work/inventories"
cp inventories/example.csv inventories/example.toml "$work/inventories/"
cp inventories/example.csv "$work/fleet.csv"
cp inventories/example.toml "$work/fleet.toml"
(cd "$work" && ddb-fleet plan fleet.csv --report last-night.json >/dev/null || true)
python3 - "$work" <<'PY'
import re, subprocess, sys
work = sys.argv[1]
text = open("README.md").read()
lines = []
for block in re.findall(r"```sh\n(.*?)```", text, re.S):
    for line in block.replace("\\\n", " ").split("\n"):
        if line.strip().startswith("ddb-fleet "):
            lines.append(line.strip())
refused = ["error: unexpected argument", "error: invalid value", "error: unrecognized",
           "Usage: ddb-fleet", "panicked"]
bad = 0
for line in lines:
    command = line.replace("/etc/bash_completion.d/", work + "/")
    if "report merge shard-" in command:
        # The README's shard example runs on 4 machines: the other 3 shards, then the merge.
        for k in (1, 2, 3):
            subprocess.run(f"ddb-fleet plan fleet.csv --shard {k}/4 --report shard-{k}.json",
                           shell=True, cwd=work, capture_output=True, stdin=subprocess.DEVNULL)
    run = subprocess.run(command, shell=True, cwd=work, capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=300)
    why = [r for r in refused if r in run.stderr] or (["exit 101"] if run.returncode == 101 else [])
    print(f"{'FAIL' if why else 'ok  '} exit {run.returncode}: {line}")
    if why:
        bad += 1
        print(run.stderr[-2000:])
print(f"readme-examples: {len(lines) - bad} passed, {bad} failed")
sys.exit(1 if bad else 0)
PY
