#!/usr/bin/env bash
# Debian packages the tests use as independent witnesses: pdflatex (the LaTeX derivation must
# compile), Chromium (the HTML derivation must render), zsh and fish (`netprop completion`'s scripts
# must load and complete). Where they cannot be installed, those tests skip, except under CI=true,
# where they fail.
need=()
command -v pdflatex >/dev/null 2>&1 || need+=(texlive-latex-base)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v zsh >/dev/null 2>&1 || need+=(zsh)
command -v fish >/dev/null 2>&1 || need+=(fish)
[ ${#need[@]} -eq 0 ] && exit 0
exec bash "$(dirname "$0")/apt-install.sh" "the tests that need ${need[*]} will skip" "${need[@]}"
