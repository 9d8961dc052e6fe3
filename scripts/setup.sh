#!/usr/bin/env bash
# Prepares a machine for Phantom: Debian packages (when root on Debian), a virtual
# environment in .venv and the project installed into it. Safe to run again: each
# step is skipped when it is already done.
set -euo pipefail

PHANTOM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PHANTOM_VENV="${PHANTOM_VENV:-$PHANTOM_ROOT/.venv}"
PHANTOM_PYTHON="${PHANTOM_PYTHON:-python3}"

install_debian_packages() {
    [ -r /etc/debian_version ] || return 0
    local wanted missing=()
    wanted=$(grep -v '^\s*#' "$PHANTOM_ROOT/packaging/apt-packages.txt" | grep -v '^\s*$')
    for pkg in $wanted; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "phantom setup: missing Debian packages (install them as root): ${missing[*]}" >&2
        return 0
    fi
    echo "phantom setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_project() {
    local stamp="$PHANTOM_VENV/.phantom-installed" wanted
    wanted=$(cat "$PHANTOM_ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)
    if [ ! -x "$PHANTOM_VENV/bin/python" ]; then
        "$PHANTOM_PYTHON" -m venv "$PHANTOM_VENV"
    fi
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
        local log="$PHANTOM_VENV/pip-install.log"
        echo "phantom setup: installing Phantom into $PHANTOM_VENV (log: $log)" >&2
        if ! { "$PHANTOM_VENV/bin/python" -m pip install --upgrade pip &&
               "$PHANTOM_VENV/bin/python" -m pip install -e "$PHANTOM_ROOT[test]"; } >"$log" 2>&1; then
            tail -n 30 "$log" >&2
            echo "phantom setup: pip failed; the whole log is in $log" >&2
            return 1
        fi
        echo "$wanted" > "$stamp"
    fi
}

install_debian_packages
install_project
