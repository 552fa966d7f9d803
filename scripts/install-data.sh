#!/usr/bin/env bash
# Fashion-MNIST from Debian's package dataset-fashion-mnist, unless it is installed already.
# Anywhere else netprop downloads the four files itself (and checks their MD5 sums) on first use.
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && exit 0
exec bash "$(dirname "$0")/apt-install.sh" "netprop will download Fashion-MNIST on first use" \
    dataset-fashion-mnist
