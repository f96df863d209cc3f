"""Alters a checkpoint consistently, as a damaged disk or an edit would that a checksum does not catch:
h5py rewrites the data, so HDF5's Fletcher32 checksums are right afterwards.

forge.py KIND CHECKPOINT [OTHER_CHECKPOINT]
  sign    flips the sign of value_2 (T) of the first piece
  swap    swaps value_2 of the first two pieces
  splice  puts the values of OTHER_CHECKPOINT's first piece (another job of the same series) in place of
          those of the second piece (the first when there is only one)
  zero    zeroes the second quarter of value_1 (Q) of the first piece
"""
import sys

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
    with h5py.File(path, "r+") as f:
        pieces = f["pieces"]
        names = sorted(pieces)
        first = pieces[names[0]]
        if kind == "sign":
            data, negative = value(first, "value_2")
            rewrite(first, "value_2", data, 1 - negative)
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
        else:
            raise SystemExit("unknown forgery " + kind)


if __name__ == "__main__":
    main()
