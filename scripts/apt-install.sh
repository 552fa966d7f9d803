#!/usr/bin/env bash
# apt-install.sh NOTE PACKAGE...: install Debian packages where apt exists and we are root (or
# have sudo). Never fails the set-up: when it cannot install, it prints NOTE (what happens
# instead) and exits 0.
set -u
note=$1
shift
if ! command -v apt-get >/dev/null 2>&1; then
    echo "netprop set-up: no apt-get here; $note" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "netprop set-up: not root and no sudo, so not installing $*; $note" >&2
        exit 0
    fi
fi
log=$(mktemp /tmp/netprop-apt.XXXXXX.log)
echo "netprop set-up: installing Debian's $* (log: $log)" >&2
if ! { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@"; } >"$log" 2>&1; then
    echo "netprop set-up: apt-get failed (log: $log); $note" >&2
fi
exit 0
