# Sourced by scripts/start and scripts/test: make .venv and install a requirements file.
# A virtualenv because stock Debian 12 / Ubuntu 24.04 refuse system-wide pip
# installs (PEP 668); ensurepip comes from python3-venv there.
# shellcheck shell=bash
ensure_venv() {
    local requirements=$1 root
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    VENV="$root/.venv"
    if [ ! -x "$VENV/bin/python" ]; then
        if ! python3 -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
                echo "setup: installing python3-venv (needed to create .venv)" >&2
                apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
                python3 -m venv "$VENV"
            else
                echo "setup: cannot create a virtualenv: install python3-venv (sudo apt-get install python3-venv) and run again" >&2
                return 1
            fi
        fi
    fi
    # Skip pip when the requirements files have not changed since the last install.
    local stamp wanted
    stamp="$VENV/.installed-$requirements"
    wanted=$(cat "$root"/requirements*.txt)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/$requirements"
        printf '%s' "$wanted" >"$stamp"
    fi
}
