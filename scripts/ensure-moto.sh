#!/usr/bin/env bash
# Makes sure the moto AWS emulator is importable, at the version the demo and the tests need:
# moto 5.2.6 is the first to serve CloudWatch's rpc-v2-cbor protocol, which the current AWS SDK
# for Rust speaks (5.2.1 answers 404), so the demo and the tests read CloudWatch from moto too.
# Installs it from PyPI if it is missing or older.
set -euo pipefail
want=5.2.6
have=$(python3 -c 'import moto.server, flask, moto; print(moto.__version__)' 2>/dev/null || true)
if [ -z "$have" ] || ! python3 - "$have" "$want" <<'PY'
import sys
v = lambda s: tuple(int(p) for p in s.split(".")[:3])
sys.exit(0 if v(sys.argv[1]) >= v(sys.argv[2]) else 1)
PY
then
    echo "installing moto[server]==$want (the local AWS emulator used by the demo and the tests; found: ${have:-none})" >&2
    python3 -m pip install --quiet "moto[server]==$want"
fi
