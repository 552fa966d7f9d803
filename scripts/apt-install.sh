#!/usr/bin/env bash
# apt-install.sh NOTE PACKAGE...: install Debian packages where apt exists and we are root (or
# have sudo). Never fails the set-up: when it cannot install, it prints NOTE (what happens
# instead) and exits 0.
#
# Another apt or dpkg process (unattended-upgrades on a fresh machine, a second `make`) holds
# dpkg's lock and the package lists' lock while it runs; both steps wait for them, up to
# NETPROP_APT_LOCK_TIMEOUT seconds (default 600), instead of giving up at once.
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
wait_s=${NETPROP_APT_LOCK_TIMEOUT:-600}
retry_s=${NETPROP_APT_RETRY_S:-5}
log=$(mktemp /tmp/netprop-apt.XXXXXX.log)
lock_busy() { grep -q "Could not get lock\|Unable to acquire the dpkg frontend lock" "$log"; }

# apt-get update: apt 2.6 waits for dpkg's lock with DPkg::Lock::Timeout but gives up at once on
# the package lists' lock (/var/lib/apt/lists/lock), so that one is retried here until wait_s
update_lists() {
    local deadline=$((SECONDS + wait_s))
    while true; do
        $SUDO apt-get -o "DPkg::Lock::Timeout=$wait_s" update -qq >>"$log" 2>&1 && return 0
        lock_busy && [ "$SECONDS" -lt "$deadline" ] || return 1
        echo "netprop set-up: another apt holds the package lists' lock; waiting" >>"$log"
        sleep "$retry_s"
    done
}

# apt-get install waits for dpkg's frontend lock itself, for up to wait_s
install_packages() {
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o "DPkg::Lock::Timeout=$wait_s" \
        install -y -qq --no-install-recommends "$@" >>"$log" 2>&1
}

echo "netprop set-up: installing Debian's $* (log: $log; waits up to ${wait_s} s for another apt to finish)" >&2
if ! { update_lists && install_packages "$@"; }; then
    if lock_busy; then
        echo "netprop set-up: another apt or dpkg process held its lock for over ${wait_s} s (log: $log);" \
             "run the same make command again once it has finished; $note" >&2
    else
        echo "netprop set-up: apt-get failed (log: $log); $note" >&2
    fi
fi
exit 0
