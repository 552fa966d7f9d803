#!/usr/bin/env bash
# Install Fashion-MNIST from Debian's package dataset-fashion-mnist where apt exists.
# Anywhere else netprop downloads the four files itself (and checks their MD5 sums) on first use,
# so a failure here is reported but does not stop the set-up.
set -u
DIR=/usr/share/datasets/fashion-mnist
if [ -f "$DIR/train-images-idx3-ubyte.gz" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-data: no apt-get here; netprop will download Fashion-MNIST on first use" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "install-data: not root and no sudo; netprop will download Fashion-MNIST on first use" >&2
        exit 0
    fi
fi
echo "install-data: installing Debian's dataset-fashion-mnist into $DIR" >&2
if ! { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; } >/tmp/netprop-apt.log 2>&1; then
    echo "install-data: apt-get failed (log: /tmp/netprop-apt.log); netprop will download Fashion-MNIST on first use" >&2
fi
exit 0
