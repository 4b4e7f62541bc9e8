"""Test doubles: hand-written hostile pickle streams, one family per way of attacking a loader.

:func:`hostile_pickle` picks a family and its parameters from a seeded generator and returns
``(description, bytes)``. Families: nesting bombs (tuple keys, ``TUPLE``/``LIST``/``DICT``
marks, frozensets, dict values, set members), tuples repeated through the memo, huge integers
(``LONG1``/``LONG4``/text ``INT``/``LONG``, integers as lengths and shapes), memo abuse
(missing or huge indices, a list that contains itself, exponential sharing), code-running
globals (``os.system``, ``builtins.eval``, ``INST``/``OBJ``/``NEWOBJ_EX``), and streams of
random opcodes with plausible arguments (every opcode family of :mod:`pickletools`).
"""

from __future__ import annotations

import pickletools
import random
import struct
from collections.abc import Callable

_PROTO = b"\x80\x04"
_DEPTHS = (65, 100, 1000, 10**4, 10**5, 10**6)


def _binget(index: int) -> bytes:
    return b"j" + struct.pack("<I", index)


def _binput(index: int) -> bytes:
    return b"r" + struct.pack("<I", index)


def _nesting(rng: random.Random) -> tuple[str, bytes]:
    depth = rng.choice(_DEPTHS)
    shapes = {
        "tuple1 key": b"}N" + b"\x85" * depth + b"K\x01s.",
        "tuple mark key": b"}" + b"(" * depth + b"N" + b"t" * depth + b"K\x01s.",
        "frozenset": b"(" * depth + b"N" + b"\x91" * depth + b".",
        "list marks": b"(" * depth + b"l" * depth + b".",
        "list appends": b"]" * depth + b"N" + b"a" * depth + b".",
        "dict values": b"}K\x01" * depth + b"N" + b"s" * depth + b".",
        "dict opcode key": b"(" + b"N" + b"\x85" * depth + b"K\x01d.",
        "set member": b"\x8f(" + b"N" + b"\x85" * depth + b"\x90.",
        "setitems key": b"}(" + b"N" + b"\x85" * depth + b"K\x01u.",
        "tuple3 chain": b"}" + b"NN" + b"N\x87" * depth + b"K\x01s.",
    }
    name = rng.choice(sorted(shapes))
    return f"nesting {name} depth {depth}", _PROTO + shapes[name]


def _repeated(rng: random.Random) -> tuple[str, bytes]:
    levels = rng.choice((20, 30, 40, 60, 64))
    ops = bytearray(b"}N\x85" + _binput(0) + b"0")
    for level in range(levels):
        ops += _binget(level) + _binget(level) + b"\x86" + _binput(level + 1) + b"0"
    if rng.random() < 0.5:
        ops += _binget(levels) + b"K\x01s."
        return f"repeated tuple key 2^{levels}", _PROTO + bytes(ops)
    lists = bytearray(b"]N" + b"a" + _binput(0) + b"0")
    for level in range(levels):
        lists += b"(" + _binget(level) + _binget(level) + b"l" + _binput(level + 1) + b"0"
    return f"repeated list 2^{levels}", _PROTO + bytes(lists + _binget(levels) + b".")


def _huge_int(rng: random.Random) -> tuple[str, bytes]:
    choices = {
        "long4 claims 2^31-1 bytes": b"\x8b" + struct.pack("<i", 2**31 - 1) + b"\xff" * 16 + b".",
        "long4 negative length": b"\x8b" + struct.pack("<i", -5) + b".",
        "long1 255 bytes": b"\x8a\xff" + bytes(rng.randrange(256) for _ in range(255)) + b".",
        "text int 10^5 digits": b"I" + b"9" * 10**5 + b"\n.",
        "text long 10^5 digits": b"L" + b"7" * 10**5 + b"L\n.",
        "binunicode8 2^62": b"\x8d" + struct.pack("<Q", 2**62) + b"abc.",
        "binbytes8 2^63-1": b"\x8e" + struct.pack("<Q", 2**63 - 1) + b"abc.",
        "frame 2^62": b"\x95" + struct.pack("<Q", 2**62) + b"N.",
        "huge list length via appends": b"](" + b"K\x01" * 10**4 + b"e.",
        "numpy shape huge": (
            b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(K\x00tC\x01btR"
            b"(K\x01(\x8a\x08" + struct.pack("<q", 2**62) + b"tcnumpy\ndtype\n(X\x02\x00\x00\x00f8"
            b"\x89\x88tR(K\x03X\x01\x00\x00\x00<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
            b"\x89C\x00tb."
        ),
    }
    name = rng.choice(sorted(choices))
    return f"huge int {name}", _PROTO + choices[name]


def _memo(rng: random.Random) -> tuple[str, bytes]:
    choices = {
        "get missing": b"N" + _binget(7) + b".",
        "get huge": b"N" + _binget(2**32 - 1) + b".",
        "put on empty stack": _binput(0) + b"N.",
        "memoize empty stack": b"\x94N.",
        "text get": b"Ng99999999999999999999\n.",
        "list contains itself": b"]" + _binput(0) + _binget(0) + b"a.",
        "dict contains itself": b"}" + _binput(0) + b"K\x01" + _binget(0) + b"s.",
        "tuple of self list": b"]" + _binput(0) + _binget(0) + b"\x85a.",
        "many memo entries": b"".join(b"N" + _binput(i) + b"0" for i in range(10**4)) + b"N.",
    }
    name = rng.choice(sorted(choices))
    return f"memo {name}", _PROTO + choices[name]


def _code(rng: random.Random) -> tuple[str, bytes]:
    choices = {
        "os.system reduce": b"cos\nsystem\n(X\x04\x00\x00\x00trueL\x85R.",
        "builtins.eval stack_global": b"X\x08\x00\x00\x00builtinsX\x04\x00\x00\x00eval\x93"
        b"X\x03\x00\x00\x001+1\x85R.",
        "inst": b"(X\x00\x00\x00\x00ios\nsystem\n.",
        "obj": b"(cos\nsystem\nX\x04\x00\x00\x00trueo.",
        "newobj_ex": b"cbuiltins\nobject\n)}\x92.",
        "ext1": b"\x82\x01.",
        "build on dict": b"}}b.",
        "reduce numpy ndarray": b"cnumpy\nndarray\n(K\x05\x85tR.",
        "copyreg reconstructor of os": b"ccopy_reg\n_reconstructor\n(cos\nsystem\ncbuiltins\n"
        b"object\nNtR.",
        "persistent id": b"X\x03\x00\x00\x00pidQ.",
        "next buffer": b"\x97.",
    }
    name = rng.choice(sorted(choices))
    return f"code {name}", _PROTO + choices[name]


_ARG_MAKERS: dict[str, Callable[[random.Random], bytes]] = {
    "uint1": lambda r: bytes([r.randrange(256)]),
    "uint2": lambda r: struct.pack("<H", r.randrange(2**16)),
    "int4": lambda r: struct.pack("<i", r.choice((0, 1, -1, 2**31 - 1, r.randrange(100)))),
    "uint4": lambda r: struct.pack("<I", r.choice((0, 1, 2**32 - 1, r.randrange(100)))),
    "uint8": lambda r: struct.pack("<Q", r.choice((0, 1, 2**63, r.randrange(100)))),
    "long1": lambda r: b"\x02\x01\x00",
    "long4": lambda r: struct.pack("<i", 2) + b"\x01\x00",
    "decimalnl_short": lambda r: str(r.randrange(-5, 100)).encode() + b"\n",
    "decimalnl_long": lambda r: str(r.randrange(100)).encode() + b"L\n",
    "floatnl": lambda r: b"1.5\n",
    "float8": lambda r: struct.pack(">d", r.random()),
    "stringnl": lambda r: b"'abc'\n",
    "stringnl_noescape": lambda r: r.choice((b"numpy\n", b"os\n", b"builtins\n")),
    "stringnl_noescape_pair": lambda r: r.choice((b"numpy\ndtype\n", b"os\nsystem\n")),
    "string1": lambda r: b"\x03abc",
    "string4": lambda r: struct.pack("<i", 3) + b"abc",
    "bytes1": lambda r: b"\x02ab",
    "bytes4": lambda r: struct.pack("<I", 2) + b"ab",
    "bytes8": lambda r: struct.pack("<Q", 2) + b"ab",
    "bytearray8": lambda r: struct.pack("<Q", 2) + b"ab",
    "unicodestringnl": lambda r: b"abc\n",
    "unicodestring1": lambda r: b"\x03abc",
    "unicodestring4": lambda r: struct.pack("<I", 3) + b"abc",
    "unicodestring8": lambda r: struct.pack("<Q", 3) + b"abc",
}


def _opcode_stream(rng: random.Random) -> tuple[str, bytes]:
    ops = bytearray(_PROTO)
    names = []
    for _ in range(rng.randint(3, 40)):
        op = rng.choice(pickletools.opcodes)
        maker = _ARG_MAKERS.get(op.arg.name, lambda r: b"") if op.arg else (lambda r: b"")
        ops += op.code.encode("latin1") + maker(rng)
        names.append(op.name)
    return f"opcodes {' '.join(names[:8])}...", bytes(ops + b".")


FAMILIES = (_nesting, _repeated, _huge_int, _memo, _code, _opcode_stream)


def hostile_pickle(rng: random.Random) -> tuple[str, bytes]:
    """One hostile pickle: ``(what it is, the bytes)``."""
    return rng.choice(FAMILIES)(rng)
