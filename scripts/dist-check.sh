#!/usr/bin/env bash
# dist-check.sh PYTHON: what a packager and a user who installs netprop get.
#  1. builds the sdist and, from it, the wheel (python -m build);
#  2. installs the wheel with its runtime dependencies (and the explain extra) into a fresh virtual
#     environment outside the repository, and there runs netprop derive, netprop gradcheck,
#     netprop explain (its page and a script), and netprop train on 500 Fashion-MNIST images;
#  3. unpacks the sdist, checks that it holds every tracked file the tests, docs and set-up need,
#     and collects its tests with PYTHON (the repository's venv, which has the test extra) against
#     the sdist's own source: 0 errors expected.
# PYTHON is the repository's venv's interpreter. Fashion-MNIST missing on disk skips the train step,
# except under CI=true, where it fails. NETPROP_DIST_KEEP=1 keeps the work folder.
set -euo pipefail
py=$1
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/netprop-dist.XXXXXX)
[ "${NETPROP_DIST_KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
say() { echo "dist-check: $*"; }

say "building the sdist and the wheel in $work/dist"
"$py" -m build --outdir "$work/dist" "$root" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
sdist=$(ls "$work"/dist/netprop-*.tar.gz)
wheel=$(ls "$work"/dist/netprop-*.whl)

say "installing $(basename "$wheel") into a fresh venv ($work/venv)"
"$py" -m venv "$work/venv"
venv_py=$work/venv/bin/python
"$venv_py" -m pip install --quiet --disable-pip-version-check "$wheel[explain]" >"$work/pip.log" 2>&1 \
    || { cat "$work/pip.log"; exit 1; }
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    # the package's data files (the live lecture's front-end, vendored libraries, fonts, licences)
    git -C "$root" ls-files src/netprop | grep -v '\.py$' | sed 's|^src/||' >"$work/data-files.txt"
    "$py" - "$wheel" "$work/data-files.txt" <<'PY'
import sys, zipfile
shipped = set(zipfile.ZipFile(sys.argv[1]).namelist())
missing = [name for name in open(sys.argv[2]).read().split() if name not in shipped]
sys.exit(f"dist-check: the wheel lacks {missing}" if missing else None)
PY
fi

cd "$work"          # outside the repository: nothing may come from its src/
"$venv_py" - "$work/venv" <<'PY'
import importlib.metadata, sys
import netprop
assert netprop.__file__.startswith(sys.argv[1]), f"netprop imported from {netprop.__file__}"
meta = importlib.metadata.metadata("netprop")
assert meta["Version"] == netprop.__version__, (meta["Version"], netprop.__version__)
assert meta["License-Expression"] == "BSD-3-Clause", meta["License-Expression"]
files = [str(f) for f in importlib.metadata.files("netprop")]
assert any(f.endswith("licenses/LICENSE") for f in files), "LICENSE not in the wheel"
print(f"dist-check: netprop {netprop.__version__} imported from the venv, licence and version in its metadata")
PY
"$work/venv/bin/netprop" derive >derive.txt
grep -q "largest |difference| between the three" derive.txt
say "netprop derive: $(grep -c 'largest |difference|' derive.txt) chains checked"
"$work/venv/bin/netprop" gradcheck --sizes 4,3,2 >gradcheck.txt
say "netprop gradcheck --sizes 4,3,2: exit 0"
"$venv_py" "$root/scripts/smoke_explain.py"
if "$venv_py" -c "from netprop.data import find_fashion_mnist; find_fashion_mnist(download=False)" 2>/dev/null; then
    "$work/venv/bin/netprop" train --subset 500 --epochs 1 --quiet --out "$work/run" >train.txt
    test -f "$work/run/model.safetensors" && test -f "$work/run/report.md"
    say "netprop train --subset 500 --epochs 1: model and report written"
elif [ "${CI:-}" = true ]; then
    echo "dist-check: Fashion-MNIST is not on disk (make data installs it), so netprop train cannot run" >&2
    exit 1
else
    say "skipped netprop train: Fashion-MNIST is not on disk (make data installs it)"
fi

say "unpacking $(basename "$sdist") and collecting its tests"
mkdir "$work/sdist"
tar -xzf "$sdist" -C "$work/sdist"
unpacked=$(ls -d "$work"/sdist/netprop-*)
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    # every tracked file that running the tests, building the docs or setting up needs
    missing=$(git -C "$root" ls-files LICENSE README.md Makefile pyproject.toml mkdocs.yml MANIFEST.in \
                  src tests docs scripts benchmarks | while read -r f; do
                  [ -e "$unpacked/$f" ] || echo "$f"; done)
    if [ -n "$missing" ]; then echo "dist-check: the sdist lacks:"; echo "$missing"; exit 1; fi
fi
(cd "$unpacked" && PYTHONPATH="$unpacked/src" "$py" -c \
    "import netprop, sys; sys.exit(None if netprop.__file__.startswith('$unpacked') else netprop.__file__)")
(cd "$unpacked" && PYTHONPATH="$unpacked/src" "$py" -m pytest --collect-only -q -p no:cacheprovider \
    >"$work/collect.txt" 2>&1) || { tail -30 "$work/collect.txt"; exit 1; }
say "sdist: $(tail -1 "$work/collect.txt")"
