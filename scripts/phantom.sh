#!/usr/bin/env bash
# Sets up everything Phantom needs (see setup.sh), then launches the app.
# Arguments are passed on to `phantom`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/setup.sh"
exec "$here/../.venv/bin/phantom" "$@"
