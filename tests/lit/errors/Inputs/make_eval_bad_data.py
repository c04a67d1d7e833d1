"""Writes the malformed data sets of eval-errors.test into the folder given."""
import os
import sys
import zipfile

import numpy as np

out = sys.argv[1]
ids = np.full((3, 16), 5, dtype=np.int64)
good = {"input_ids": ids, "token_type_ids": np.zeros_like(ids),
        "attention_mask": np.ones_like(ids),
        "labels": np.array([0, 1, 1], dtype=np.int64)}


def save(name, **changes):
    arrays = {k: v for k, v in dict(good, **changes).items() if v is not None}
    np.savez(os.path.join(out, name + ".npz"), **arrays)


save("ok")
save("missing-input", attention_mask=None)
save("no-labels", labels=None)
save("wrong-shape", input_ids=np.zeros((3, 12), dtype=np.int64))
save("count", labels=np.array([0, 1, 1, 0], dtype=np.int64))
save("float-ids", input_ids=ids.astype(np.float32))
save("label-range", labels=np.array([0, 1, 2], dtype=np.int64))
save("float-labels", labels=np.array([0.0, 1.0, 1.0]))
save("extra", input_idz=ids)

# A deflated member whose stored CRC-32 does not match its data.
path = os.path.join(out, "corrupt.npz")
np.savez_compressed(path, **good)
with zipfile.ZipFile(path) as z:
    info = z.getinfo("input_ids.npy")
data = bytearray(open(path, "rb").read())
data[info.header_offset + 14] ^= 0xFF  # the local header's CRC-32
crc = data.find(b"PK\x01\x02")  # the central directory entries
while crc >= 0:
    name_len = int.from_bytes(data[crc + 28:crc + 30], "little")
    if data[crc + 46:crc + 46 + name_len] == b"input_ids.npy":
        data[crc + 16] ^= 0xFF
        break
    crc = data.find(b"PK\x01\x02", crc + 4)
open(path, "wb").write(bytes(data))
