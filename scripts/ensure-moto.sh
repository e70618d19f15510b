#!/usr/bin/env bash
# Makes sure the moto AWS emulator is importable; installs it from PyPI if not.
set -euo pipefail
if ! python3 -c 'import moto.server, flask' 2>/dev/null; then
    echo "installing moto[server] (the local AWS emulator used by the demo and the tests)" >&2
    python3 -m pip install --quiet 'moto[server]>=5.1,<6'
fi
