# Shared by scripts/serve and scripts/test: a virtualenv kept in step with requirements/,
# with the project installed in it (editable) for the `agent-memory` command; and, for
# scripts/test, the headless browser of the console's browser test.
# shellcheck shell=bash

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

ensure_venv() {
  # ensure_venv requirements/<file>.txt ... : install when a requirements file changed.
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Python 3.11 or newer is needed (found: $("$PYTHON" --version 2>&1))." >&2
    exit 1
  fi
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  local stamp="$VENV/.requirements.sha256"
  local wanted
  wanted=$(cat requirements/*.txt pyproject.toml "$@" | sha256sum | cut -d' ' -f1)-$(printf '%s ' "$@")
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    echo "Installing requirements: $*" >&2
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    local args=()
    for file in "$@"; do args+=(-r "$file"); done
    "$VENV/bin/python" -m pip install --quiet "${args[@]}"
    # BERTopic without its declared dependencies (torch, sentence-transformers: unused on
    # stored embeddings); what it does import is in requirements/base.txt.
    "$VENV/bin/python" -m pip install --quiet --no-deps -r requirements/topics.txt
    # The project itself, editable and without re-resolving its dependencies (installed just
    # above): provides the `agent-memory` command while the code stays where it is.
    "$VENV/bin/python" -m pip install --quiet --no-deps --editable .
    echo "$wanted" > "$stamp"
  fi
}

ensure_browser() {
  # Headless Chromium and its driver from Debian's packages, for the console's browser test
  # (tests/console/test_dashboard_browser.py). Installed only when missing and only where we
  # may (root, apt-get: CI); elsewhere that test is skipped and says why.
  command -v chromium >/dev/null && command -v chromedriver >/dev/null && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "chromium or chromedriver is missing: the console's browser test will be skipped" \
      "(apt-get install chromium chromium-driver to run it)." >&2
    return 0
  fi
  echo "Installing chromium and chromium-driver (for the console's browser test)" >&2
  if ! { apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      chromium chromium-driver >/dev/null; }; then
    echo "Could not install chromium: the console's browser test will be skipped." >&2
  fi
}
