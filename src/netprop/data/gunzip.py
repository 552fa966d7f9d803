"""A gzip file read the way Python's gzip module reads it, but megabytes at a time.

gzip.open's reader decompresses in rounds of a few kilobytes, each a trip through Python code
that needs the GIL.  At the start of a training run another thread holds the GIL most of the time
(importing Numba and loading the compiled kernels, ~0.6 s of Python), and each of those hundreds
of rounds waits for it: Fashion-MNIST's 26 MB of training images took 1.05 s to read instead of
0.3.  Here each zlib call inflates up to 8 MB and each CRC-32 covers what it returned; both release
the GIL while they work, so the reading runs beside the other thread.

The format accepted is gzip.decompress's: members one after another, zero bytes between them
ignored, each member's header as the gzip module parses it (its header CRC, if flagged, skipped
unchecked), each member's CRC-32 and length checked against its trailer.  Errors are the gzip
module's: EOFError for a file that ends early, gzip.BadGzipFile (an OSError) for one that is not
gzip or fails its checks, zlib.error for a corrupt deflate stream.
"""

from __future__ import annotations

import re
import struct
import zlib
from gzip import BadGzipFile

BLOCK = 4 << 20             # most compressed bytes read from the file, and given to zlib, at once
FIRST_FEED = 16 << 10       # read and given to zlib at a member's start, four times more each call up to BLOCK
PIECE = 8 << 20             # most decompressed bytes one zlib call returns
ENDED = "Compressed file ended before the end-of-stream marker was reached"
FEXTRA, FNAME, FCOMMENT, FHCRC = 4, 8, 16, 2
_NONZERO = re.compile(rb"[^\x00]")


class GzipReader:
    """read(n) and readinto(view) of the data in a gzip file object opened for binary reading."""

    def __init__(self, fh):
        self.fh = fh
        self.buffer, self.pos = b"", 0      # compressed bytes read from the file, and how far they are used
        self.inflater = None                # the current member's decompressor; None between members
        self.crc = self.length = 0          # of the current member's data so far
        self.feed = FIRST_FEED              # compressed bytes the next zlib call is given
        self.ended = False
        self.members = 0                    # members read whole: zero padding is skipped only after one

    def read(self, n):
        """Up to n bytes of data (fewer only at the end of the file)."""
        out = bytearray(n)
        return bytes(memoryview(out)[:self.readinto(out)])

    def readinto(self, view):
        """Fill view with data; returns how many bytes were written (fewer than len(view) only at the end)."""
        view = memoryview(view).cast("B")
        got = 0
        while got < len(view) and not self.ended:
            if self.inflater is None and not self._start_member():
                self.ended = True
                break
            got += self._inflate_into(view[got:])
        return got

    def _inflate_into(self, view):
        """Decompress up to len(view) (at most PIECE) bytes of the current member into view; ends the
        member (checking its trailer) when its deflate stream ends.  Returns the bytes written."""
        d = self.inflater
        data = d.unconsumed_tail or self._next_input(len(view))
        out = d.decompress(data, min(len(view), PIECE))
        view[:len(out)] = out
        self.crc = zlib.crc32(out, self.crc)
        self.length += len(out)
        if d.eof:
            # What zlib was given past the member's end is the end of the last input taken, which is
            # the buffer's bytes just before pos: step back over them (no copy of the buffer's rest).
            self.pos -= len(d.unused_data)
            self._end_member()
        elif not out and not d.unconsumed_tail and not self._fill(1):
            raise EOFError(ENDED)            # the deflate stream wants more and the file has none
        return len(out)

    def _next_input(self, wanted):
        """The next self.feed compressed bytes, at most max(wanted, FIRST_FEED) (fewer at the end of the
        file), taken from the buffer.

        A small first feed keeps a file of many small members linear: what zlib is given past a
        member's end comes back as a copy (unused_data), once per member; and no more than the read
        wants, because what zlib does not use comes back as a copy too (unconsumed_tail), once per read."""
        self._fill(1)
        data = self.buffer[self.pos:self.pos + min(self.feed, max(wanted, FIRST_FEED))]
        self.pos += len(data)
        self.feed = min(4 * self.feed, BLOCK)
        return data

    def _fill(self, n):
        """At least n unused bytes in self.buffer, reading blocks from the file; False if it ends first."""
        while len(self.buffer) - self.pos < n:
            block = self.fh.read(max(self.feed, n))
            if not block:
                return False
            self.buffer, self.pos = self.buffer[self.pos:] + block, 0
        return True

    def _take(self, n):
        if not self._fill(n):
            raise EOFError(ENDED)
        self.pos += n
        return self.buffer[self.pos - n:self.pos]

    def _start_member(self):
        """Skip zero padding and parse the next member's header; False where the file ends instead."""
        if not self._fill(1):
            return False
        while self.members and (found := _NONZERO.search(self.buffer, self.pos)) is None:
            self.buffer, self.pos = b"", 0
            if not self._fill(1):
                return False
        if self.members:
            self.pos = found.start()
        magic = self._take(2) if self._fill(2) else self.buffer[self.pos:]
        if magic != b"\x1f\x8b":
            raise BadGzipFile(f"Not a gzipped file ({magic!r})")
        method, flags = struct.unpack("<BBIxx", self._take(8))[:2]
        if method != 8:
            raise BadGzipFile("Unknown compression method")
        if flags & FEXTRA:
            self._take(struct.unpack("<H", self._take(2))[0])
        for flag in (FNAME, FCOMMENT):            # zero-terminated; a file ending inside one ends there
            while flags & flag:
                end = self.buffer.find(b"\x00", self.pos)
                if end >= 0:
                    self.pos = end + 1
                    break
                self.pos = len(self.buffer)
                if not self._fill(1):
                    break
        if flags & FHCRC:
            self._take(2)
        self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        self.crc = self.length = 0
        self.feed = FIRST_FEED
        return True

    def _end_member(self):
        crc, length = struct.unpack("<II", self._take(8))
        if crc != self.crc:
            raise BadGzipFile("CRC check failed")
        if length != self.length & 0xFFFFFFFF:
            raise BadGzipFile("Incorrect length of data produced")
        self.inflater = None
        self.members += 1
