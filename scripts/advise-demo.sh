#!/usr/bin/env bash
# Demo of `ddb-fleet advise` on a seeded fleet: the project's simulator (tests/sim) serves
# DynamoDB, Auto Scaling, STS and CloudWatch (moto cannot serve CloudWatch's rpc-v2-cbor) for
# two accounts x two regions of tables whose usage follows profiles (steady, daily cycle,
# spiky, idle, growing, large and cold). It runs advise -> plan -> apply -> advise again and
# leaves the outputs (advice.csv, advice.html, the reports) in .demo/advise/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .demo/advise
export ADVISE_DEMO_DIR="$PWD/.demo/advise"
cargo test --quiet --test integration demo_on_a_seeded_fleet -- --ignored --nocapture
