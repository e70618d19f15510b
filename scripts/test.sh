#!/usr/bin/env bash
# The whole test suite: formatting, lints, the README's examples run as written
# (scripts/readme-examples.sh), unit tests, and the integration tests, which start their own
# moto servers on free loopback ports. This is what .ci/run runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-moto.sh
export MOTO_SERVER="${MOTO_SERVER:-python3 -m moto.server}"
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
scripts/readme-examples.sh
cargo test --locked
