#!/usr/bin/env bash
# Installs the system packages simagents needs when they are missing:
#   * Stockfish, the engine of the synthetic population, the action values and the ladder;
#   * a small TeX Live (latexmk, pdfLaTeX, the LaTeX packages paper/paper.tex uses), for the paper.
# Uses apt on Debian/Ubuntu (as root or via sudo), brew on macOS; elsewhere it says what to
# install. Idempotent: nothing is installed when both are already there.
set -euo pipefail

# Debian packages of the TeX the paper needs (about 350 MB): latexmk, pdfLaTeX with the base
# packages (geometry, amsmath, hyperref, natbib, longtable), booktabs and microtype, and the
# Latin Modern fonts.
TEX_PACKAGES="latexmk texlive-latex-base texlive-latex-recommended texlive-fonts-recommended lmodern"
TEX_STYLES="lmodern.sty booktabs.sty microtype.sty natbib.sty longtable.sty geometry.sty hyperref.sty"

have_stockfish() {
  [ -n "${SIMAGENTS_STOCKFISH:-}" ] && [ -x "${SIMAGENTS_STOCKFISH}" ] && return 0
  command -v stockfish >/dev/null 2>&1 && return 0
  [ -x /usr/games/stockfish ] && return 0
  return 1
}

have_tex() {
  command -v latexmk >/dev/null 2>&1 && command -v pdflatex >/dev/null 2>&1 || return 1
  for style in $TEX_STYLES; do
    kpsewhich "$style" >/dev/null 2>&1 || return 1
  done
}

missing=()
have_stockfish || missing+=(stockfish)
have_tex || missing+=(tex)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Missing: ${missing[*]}; installing." >&2
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "error: installing with apt needs root or sudo; run: apt-get install stockfish $TEX_PACKAGES" >&2
      exit 1
    fi
  fi
  packages=()
  for item in "${missing[@]}"; do
    if [ "$item" = stockfish ]; then packages+=(stockfish); else packages+=($TEX_PACKAGES); fi
  done
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}"
  # Debian installs lmodern's files under /usr/share/texmf; refresh the file database so TeX finds them.
  command -v mktexlsr >/dev/null 2>&1 && $SUDO mktexlsr >/dev/null 2>&1 || true
elif command -v brew >/dev/null 2>&1; then
  for item in "${missing[@]}"; do
    if [ "$item" = stockfish ]; then brew install stockfish; else brew install --cask basictex; fi
  done
else
  echo "error: no apt-get or brew here. Install them yourself, e.g." >&2
  echo "  conda install -c conda-forge stockfish texlive-core latexmk" >&2
  echo "and put Stockfish on PATH or set SIMAGENTS_STOCKFISH=/path/to/stockfish." >&2
  exit 1
fi

have_stockfish || { echo "error: Stockfish still not found after installing it" >&2; exit 1; }
have_tex || { echo "error: latexmk or a LaTeX package of the paper ($TEX_STYLES) still missing" >&2; exit 1; }
