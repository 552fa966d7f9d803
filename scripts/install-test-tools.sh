#!/usr/bin/env bash
# Debian packages the tests use as independent witnesses: pdflatex (the LaTeX derivation must
# compile) and Chromium (the HTML derivation must render). Installed where apt exists and we are
# root (or have sudo); elsewhere those tests skip, except under CI=true, where they fail.
set -u
need=()
command -v pdflatex >/dev/null 2>&1 || need+=(texlive-latex-base)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-tools: no apt-get; tests needing ${need[*]} will skip" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "install-test-tools: not root and no sudo; tests needing ${need[*]} will skip" >&2
        exit 0
    fi
fi
echo "install-test-tools: installing ${need[*]} (a few minutes the first time)" >&2
if ! { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${need[@]}"; } >/tmp/netprop-apt-tools.log 2>&1; then
    echo "install-test-tools: apt-get failed (log: /tmp/netprop-apt-tools.log)" >&2
fi
exit 0
