#!/usr/bin/env bash
# Demo of ddb-fleet's main job against a local AWS emulator: starts moto on a free loopback
# port, creates a sample fleet (3 accounts, 2 regions), then runs
#   plan -> apply -> plan again   on inventories/example.toml,
# then advise on a whole organisation (--organization --region all),
# and prints the summary. Nothing leaves this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-moto.sh
cargo build --quiet
bin=target/debug/ddb-fleet

source scripts/moto-env.sh
export RUST_LOG=warn   # keep the demo's output to the plan and the results
python3 scripts/demo_fleet.py
mkdir -p .demo

echo; echo "== ddb-fleet plan inventories/example.toml --all-tables   (every table and step: the switches to provisioned start at the recent peak read from CloudWatch)"
"$bin" plan inventories/example.toml --all-tables --report .demo/plan.json --log-format text
echo; echo "== ddb-fleet apply inventories/example.toml --yes"
"$bin" apply inventories/example.toml --yes --report .demo/apply.json --log-format text
echo; echo "== ddb-fleet plan inventories/example.toml --detailed-exitcode   (converged: exit 0)"
"$bin" plan inventories/example.toml --report .demo/replan.json --log-format text --detailed-exitcode
echo; echo "== summary of the apply report (.demo/apply.json)"
python3 -c 'import json; r = json.load(open(".demo/apply.json")); print(json.dumps(r["summary"], indent=2))'
echo; echo "== ddb-fleet advise --organization --region all   (the whole organisation, no inventory: accounts from Organizations, each account's enabled regions)"
"$bin" advise --organization --region all --role-name OrganizationAccountAccessRole --report .demo/org.json --html .demo/org.html --log-format text
