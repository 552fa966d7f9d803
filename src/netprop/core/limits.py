"""Resource limits: sizes that come from headers, configs and flags are checked before allocating.

A 20-byte file or a one-word flag must not be able to ask for gigabytes: every size netprop
reads from outside is compared with what it can be (a file's actual size) and with the memory
available now, and refused with a message naming the file or flag and what it would take.
"""

from __future__ import annotations

import os


class ResourceLimitError(ValueError):
    """A request that would need more memory than is available; the message names its source."""


def _cgroup_headroom():
    """Bytes this process's cgroup (v2) may still allocate, or None when it sets no limit."""
    try:
        with open("/sys/fs/cgroup/memory.max") as fh:
            limit = fh.read().strip()
        if limit == "max":
            return None
        with open("/sys/fs/cgroup/memory.current") as fh:
            current = int(fh.read().strip())
        return max(int(limit) - current, 0)
    except (OSError, ValueError):
        return None


def available_memory():
    """Bytes of memory available now (MemAvailable, capped by a cgroup limit), or None if unknown."""
    available = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            available = None
    headroom = _cgroup_headroom()
    if headroom is not None:
        available = headroom if available is None else min(available, headroom)
    return available


def human_bytes(n):
    """1536 -> '1.5 KiB'; for messages."""
    n = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check_memory(nbytes, what, error=ResourceLimitError):
    """Raise error when nbytes (an int, any size) exceeds the memory available now.

    what: the file or flag the size came from and what it is, e.g. "x.idx: header 10x10 values".
    """
    available = available_memory()
    if available is not None and nbytes > available:
        raise error(f"{what} would take {human_bytes(nbytes)} of memory, but only "
                    f"{human_bytes(available)} is available")


def network_bytes(layer_sizes, itemsize=4, copies=6, batch=0):
    """Bytes to train (or check) a network: `copies` sets of parameters plus a batch's activations.

    Training holds the parameters, the best epoch's copy, a gradient, up to two optimizer moments
    and the float64 draw of the initial weights: about six parameter-sized arrays.
    """
    sizes = [int(s) for s in layer_sizes]
    n_params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    return copies * n_params * itemsize + 3 * batch * sum(sizes) * itemsize
