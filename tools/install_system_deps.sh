#!/usr/bin/env bash
# Installs the system packages simagents needs when they are missing: Stockfish (the engine the
# synthetic population and, later, action values use). Uses apt on Debian/Ubuntu (as root or via
# sudo), brew on macOS; elsewhere it says how to get it from conda-forge. Idempotent.
set -euo pipefail

have_stockfish() {
  [ -n "${SIMAGENTS_STOCKFISH:-}" ] && [ -x "${SIMAGENTS_STOCKFISH}" ] && return 0
  command -v stockfish >/dev/null 2>&1 && return 0
  [ -x /usr/games/stockfish ] && return 0
  return 1
}

if have_stockfish; then
  exit 0
fi

echo "Stockfish not found: installing it." >&2
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "error: installing Stockfish with apt needs root or sudo; run: apt-get install stockfish" >&2
      exit 1
    fi
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq stockfish
elif command -v brew >/dev/null 2>&1; then
  brew install stockfish
else
  echo "error: no apt-get or brew here. Install Stockfish yourself, e.g." >&2
  echo "  conda install -c conda-forge stockfish" >&2
  echo "and put it on PATH or set SIMAGENTS_STOCKFISH=/path/to/stockfish." >&2
  exit 1
fi

have_stockfish || { echo "error: Stockfish still not found after installing it" >&2; exit 1; }
