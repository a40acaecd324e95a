#!/usr/bin/env bash
# Install what PDF export (python -m tools.export) needs: XeLaTeX and pandoc.
#
#   scripts/setup_export.sh            # PYTHON=... to name the interpreter (default: .venv/bin/python)
#
# * TeX: on Debian/Ubuntu as root (or with passwordless sudo) apt-installs the packages below,
#   once (checked with dpkg -s first, so a second run takes well under a second).
# * pandoc: when none is on PATH, pip-installs the pypandoc_binary wheel into $PYTHON's
#   environment, links its pandoc into the environment's bin/ and installs
#   scripts/jupyter_env_config.py as the environment's nbconvert and Jupyter server config, with
#   the LaTeX template in scripts/nbconvert/, so that `jupyter nbconvert --to pdf` and
#   JupyterLab's PDF export find pandoc and export every notebook of the series.
# Where it cannot install (not root, not Debian, no network) it says exactly what to install
# and still exits 0: export then skips PDF with a one-line reason and writes HTML.
set -uo pipefail

TEX_PKGS=(texlive-xetex texlive-fonts-recommended texlive-plain-generic fonts-dejavu-core)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
say() { echo "setup_export: $*"; }

# --- TeX (XeLaTeX) -------------------------------------------------------------------------
tex_ok=0
if command -v dpkg >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    missing=()
    for p in "${TEX_PKGS[@]}"; do
        dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "TeX packages already installed (${TEX_PKGS[*]})"; tex_ok=1
    else
        SUDO=""
        if [ "$(id -u)" -ne 0 ]; then
            if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
        fi
        if [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; then
            say "installing ${missing[*]} (~160 MB download, ~600 MB on disk, about 75 s)"
            if $SUDO apt-get update -qq \
                && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
                    "${missing[@]}" >/dev/null; then
                tex_ok=1
            else
                say "apt-get failed; install by hand: sudo apt-get install --no-install-recommends ${missing[*]}"
            fi
        else
            say "not root: to export PDF, run: sudo apt-get install --no-install-recommends ${missing[*]}"
        fi
    fi
elif command -v xelatex >/dev/null 2>&1; then
    say "xelatex found at $(command -v xelatex)"; tex_ok=1
else
    say "no apt-get here: to export PDF install XeLaTeX with the LaTeX packages tcolorbox, adjustbox,"
    say "  titling, upquote, eurosym, ucs, mathrsfs, soul, pgf, enumitem (macOS: brew install --cask mactex-no-gui;"
    say "  Windows: MiKTeX, https://miktex.org)"
fi

# --- pandoc ----------------------------------------------------------------------------------
wheel_pandoc() {
    "$PYTHON" - <<'PY' 2>/dev/null
import importlib.util, pathlib
spec = importlib.util.find_spec("pypandoc")
exe = pathlib.Path(spec.origin).parent / "files" / "pandoc" if spec else None
print(exe if exe and exe.is_file() else "")
PY
}
ENV_PREFIX="$("$PYTHON" -c 'import sys; print(sys.prefix)')"
if command -v pandoc >/dev/null 2>&1; then
    say "pandoc found at $(command -v pandoc)"
elif [ -n "$(wheel_pandoc)" ]; then
    say "pandoc found in the pypandoc_binary wheel"
elif "$PYTHON" -m pip install -q pypandoc_binary; then
    say "installed pandoc (pypandoc_binary wheel) into $PYTHON's environment"
else
    say "could not install pandoc: run  $PYTHON -m pip install pypandoc_binary  (or apt-get install pandoc)"
fi
# nbconvert (and so JupyterLab's "Export as PDF") looks for pandoc on PATH only: link the wheel's
# pandoc into the environment's bin/, and have nbconvert and the Jupyter server put that bin/ on
# PATH (scripts/jupyter_env_config.py), so they find it without an activated environment.
if [ -n "$(wheel_pandoc)" ] && [ ! -e "$ENV_PREFIX/bin/pandoc" ]; then
    ln -s "$(wheel_pandoc)" "$ENV_PREFIX/bin/pandoc" && say "linked pandoc into $ENV_PREFIX/bin"
fi
mkdir -p "$ENV_PREFIX/etc/jupyter"
for app in nbconvert server; do
    conf="$ENV_PREFIX/etc/jupyter/jupyter_${app}_config.py"
    if [ -e "$conf" ] && ! grep -q '^# mmhelpers: ' "$conf"; then
        say "$conf exists and is not ours: left as it is (pandoc may then need an activated environment)"
    else
        cp "$ROOT/scripts/jupyter_env_config.py" "$conf"
    fi
done
mkdir -p "$ENV_PREFIX/share/jupyter/nbconvert/mmhelpers"
cp "$ROOT/scripts/nbconvert/mmhelpers.tex.j2" "$ENV_PREFIX/share/jupyter/nbconvert/mmhelpers/"

[ "$tex_ok" -eq 1 ] && say "ready for PDF export" || say "PDF export will be skipped until TeX is installed; HTML still works"
exit 0
