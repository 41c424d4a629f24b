# Sourced by scripts/serve and scripts/test: make .venv and install the project into it.
# Needs python3 (3.11+) and cargo; installs python3-venv from Debian's packages if missing.
set -euo pipefail

ensure_venv() {
  if [ ! -x .venv/bin/python ]; then
    if ! python3 -m venv .venv >/dev/null 2>&1; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing python3-venv from Debian's packages" >&2
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
        rm -rf .venv
        python3 -m venv .venv
      else
        echo "python3 -m venv failed: install python3-venv" >&2
        exit 1
      fi
    fi
  fi
  .venv/bin/python -m pip install -q --upgrade pip >&2
}

# Install a Debian package when its command is missing (as root with apt-get; else say so).
ensure_command() {
  local command=$1 package=$2
  if command -v "$command" >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing $package from Debian's packages" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >&2 \
      || echo "could not install $package; features that need $command stay off" >&2
  else
    echo "$command not found: install $package for the features that need it" >&2
  fi
}
