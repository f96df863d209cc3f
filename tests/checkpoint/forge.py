"""Alters a checkpoint consistently, as a damaged disk or an edit would that a checksum does not catch:
h5py rewrites the data, so HDF5's Fletcher32 checksums are right afterwards; a piece in a file of its own
(an external link) is altered in that file, and the checkpoint's size and CRC-32 of the file are made to
match it too.

forge.py KIND CHECKPOINT [OTHER_CHECKPOINT]
  sign    flips the sign of value_2 (T) of the first piece (value_0 for a slow series)
  swap    swaps value_2 of the first two pieces
  splice  puts the values of OTHER_CHECKPOINT's first piece (another job of the same series) in place of
          those of the second piece (the first when there is only one)
  zero    zeroes the second quarter of value_1 (Q) of the first piece
  sums    (slow series) adds 1 to every result of the ledger and as much to the pieces that are their sums,
          so that the file agrees with itself: only summing the terms again shows it
"""
import gc
import os
import sys
import zlib

import h5py
import numpy as np


def rewrite(group, name, data, negative):
    """Replaces a value's dataset with new bytes, Fletcher32 recomputed, the sign as given."""
    del group[name]
    data = np.frombuffer(bytes(data), dtype=np.uint8)
    d = group.create_dataset(name, data=data, chunks=(max(1, len(data)),), fletcher32=True)
    d.attrs["negative"] = np.uint64(negative)


def value(group, name):
    return bytes(group[name][:].tobytes()), int(group[name].attrs["negative"])


def main():
    kind, path = sys.argv[1], sys.argv[2]
    forge(kind, path)
    # The groups of the piece files opened through the links are gone with forge()'s locals: their files
    # are closed, their data on disk.
    gc.collect()
    reseal(path)


def forge(kind, path):
    with h5py.File(path, "r+") as f:
        pieces = f["pieces"]
        names = sorted(pieces)
        first = pieces[names[0]]
        if kind == "sign":
            name = "value_2" if "value_2" in first else "value_0"  # a slow series' piece has one value
            data, negative = value(first, name)
            rewrite(first, name, data, 1 - negative)
        elif kind == "swap":
            assert len(names) >= 2, "swap needs two pieces"
            second = pieces[names[1]]
            a, b = value(first, "value_2"), value(second, "value_2")
            rewrite(first, "value_2", *b)
            rewrite(second, "value_2", *a)
        elif kind == "splice":
            target = pieces[names[1] if len(names) > 1 else names[0]]
            with h5py.File(sys.argv[3], "r") as other:
                source = other["pieces"][sorted(other["pieces"])[0]]
                for name in source:
                    rewrite(target, name, *value(source, name))
        elif kind == "zero":
            data, negative = value(first, "value_1")
            data = bytearray(data)
            n = len(data)
            data[n // 4 : n // 2] = bytes(n // 2 - n // 4)
            rewrite(first, "value_1", data, negative)
        elif kind == "sums":
            rows = f["ledger"][:].reshape(-1, 4)
            data = f["ledger_values"][:].tobytes()
            at, values = 0, []
            for first, last, size, negative in rows.tolist():
                v = int.from_bytes(data[at : at + size], "little")
                values.append((int(first), int(last), -v if negative else v))
                at += int(size)
            values = [(a, b, v + 1) for a, b, v in values]
            new_rows, new_data = [], b""
            for a, b, v in values:
                m = abs(v).to_bytes(max(1, (abs(v).bit_length() + 7) // 8), "little")
                new_rows.append([a, b, len(m), 1 if v < 0 else 0])
                new_data += m
            del f["ledger"], f["ledger_values"]
            f.create_dataset("ledger", data=np.array(new_rows, dtype=np.uint64), chunks=True, fletcher32=True)
            f.create_dataset("ledger_values", data=np.frombuffer(new_data, dtype=np.uint8),
                             chunks=(max(1, len(new_data)),), fletcher32=True)
            for name in names:
                g = pieces[name]
                a, b = int(g.attrs["first_range"]), int(g.attrs["end_range"])
                total = sum(v for x, y, v in values if a <= x and y <= b)
                m = abs(total).to_bytes(max(1, (abs(total).bit_length() + 7) // 8), "little")
                rewrite(g, "value_0", m, 1 if total < 0 else 0)
        else:
            raise SystemExit("unknown forgery " + kind)


def reseal(path):
    """The checkpoint's sizes and CRC-32s of its piece files, made to match what the files now hold."""
    with h5py.File(path, "r+") as f:
        if "piece_files" not in f:
            return
        rows = f["piece_files"][:]
        for row in rows:
            link = f["pieces"].get("piece_%06d" % row[0], getlink=True)
            data = open(os.path.join(os.path.dirname(path), link.filename), "rb").read()
            row[1], row[2] = len(data), zlib.crc32(data)
        f["piece_files"][:] = rows


if __name__ == "__main__":
    main()
