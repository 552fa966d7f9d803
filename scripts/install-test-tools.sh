#!/usr/bin/env bash
# Debian packages the tests use as independent witnesses: pdflatex (the LaTeX derivation must
# compile) and Chromium (the HTML derivation must render). Where they cannot be installed, those
# tests skip, except under CI=true, where they fail.
need=()
command -v pdflatex >/dev/null 2>&1 || need+=(texlive-latex-base)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
exec bash "$(dirname "$0")/apt-install.sh" "the tests that need ${need[*]} will skip" "${need[@]}"
