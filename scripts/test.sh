#!/usr/bin/env bash
# Sets up everything Phantom needs (see setup.sh), then runs the whole test suite:
# lint, import contracts, type checks and pytest (which starts Xvfb itself).
# Arguments are passed on to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
bin="$root/.venv/bin"

echo "== ruff"
"$bin/ruff" check .
"$bin/ruff" format --check .
echo "== import contracts"
"$bin/lint-imports" --no-cache
echo "== mypy (core)"
"$bin/mypy"
echo "== pytest"
exec "$bin/python" -m pytest "$@"
