"""Every size and depth limit of the safe loader, in one place.

The limits sit far above what the official files need (listed beside each) and far below what
would exhaust the machine; a file beyond one is refused with a sentence naming the file (and
the member), the limit and this module, before the memory is taken.

* :data:`MAX_NESTING`: containers (tuples, lists, dicts, sets) nested inside each other while
  unpickling. Checked opcode by opcode, *before* a container is built or a key is hashed: a
  tuple nested 10^6 deep used as a dict key would otherwise overflow the C stack when hashed
  (SIGSEGV). Official files nest at most 6 levels (a torch ``state_dict`` tensor's size tuple
  inside its ``_rebuild_tensor_v2`` arguments inside the OrderedDict inside the checkpoint dict).
* :data:`MAX_TUPLE_ITEMS`: the items of one tuple counted the way hashing or walking it visits
  them (nested tuples with repeats: a 300-byte pickle can reuse one tuple twice per level, 40
  levels deep, and hashing it would take 2^40 steps). Official files hold tuples of a few
  items (shapes, tensor arguments).
* :data:`MAX_NPZ_MEMBER_BYTES`: the uncompressed size of one ``.npz`` member, as the zip
  directory declares it and as the member's ``.npy`` header announces it (shape x itemsize).
  Checked before the member is inflated. The largest official member is SMPL-X 2020's
  ``shapedirs`` (10475 x 3 x 400 float64, 100 MB); a HumanData file of 10^6 rows holds
  ``keypoints2d`` of 10^6 x 190 x 3 float32 (2.3 GB).
* :data:`MAX_NPZ_INFLATION` above :data:`NPZ_INFLATION_CHECKED_FROM`: a member that declares
  more than that many times its compressed size is refused (a zip bomb: a few MB of zeros that
  inflate to GB). The members read from one archive together may not inflate more than that
  many times the archive's size either (many small bombs). Real arrays compress less than
  20-fold; the threshold keeps small constant arrays (an all-zero mask) readable.
* Lying sizes (a directory that declares a small member whose stream inflates further) cannot
  take more memory: members are inflated in chunks of :data:`NPZ_READ_CHUNK` bytes into a buffer
  of the announced size, and reading stops there (zip's CRC check then refuses the member).
"""

from __future__ import annotations

MAX_NESTING = 64
"""Deepest nesting of containers in one unpickled object (and in the loaded data)."""

MAX_TUPLE_ITEMS = 10**6
"""Most items one tuple may reach, nested tuples counted with repeats."""

MAX_NPZ_MEMBER_BYTES = 4 * 2**30
"""Largest uncompressed ``.npz`` member (declared size and ``.npy`` header), 4 GiB."""

MAX_NPZ_INFLATION = 200
"""Largest ratio of a member's declared size to its compressed size ..."""

NPZ_INFLATION_CHECKED_FROM = 64 * 2**20
"""... for members declaring more than this many bytes (64 MiB)."""

NPZ_READ_CHUNK = 16 * 2**20
"""Bytes inflated per read of an ``.npz`` member (16 MiB)."""
