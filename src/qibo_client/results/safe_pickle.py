"""A pickle reader that runs nothing: it interprets the opcodes itself.

``pickle.Unpickler`` calls whatever the data names; even with an allow-list of
globals it hands the data's states to numpy's own ``__setstate__``. This
reader instead knows the few opcodes a ``numpy.save`` of a dict uses (pickle
protocols 2 to 4, as numpy 1.x and 2.x write them) and leaves every global,
call (``REDUCE``) and state (``BUILD``) to a :class:`PickleHooks` object that
decides what they mean. Anything else is refused with
:class:`~qibo_client.exceptions.UnsafeResultError`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import BinaryIO, Protocol

from qibo_client.exceptions import UnsafeResultError

#: More opcodes than any genuine result holds by orders of magnitude.
MAX_OPCODES = 1_000_000
#: Byte strings up to this size are plain ``bytes``; longer ones go to ``PickleHooks.read_bytes``.
SMALL_BYTES = 1 << 20


class PickleHooks(Protocol):
    """What the reader asks its owner: what a global, a call and a state mean."""

    def find_global(self, module: str, name: str) -> object: ...

    def reduce(self, func: object, args: tuple[object, ...]) -> object: ...

    def build(self, obj: object, state: object) -> None: ...

    def read_bytes(self, source: Source, size: int) -> object: ...


class Source:
    """The pickle's bytes: a file read forward, never past ``limit`` bytes."""

    def __init__(self, file: BinaryIO, limit: int) -> None:
        self.file = file
        self.remaining = limit
        self.position = 0

    def read(self, size: int) -> bytes:
        self.claim(size)
        data = self.file.read(size)
        if len(data) != size:
            raise UnsafeResultError(
                f"results.npy ends early: its pickle is truncated at byte {self.position}"
            )
        self.position += size
        return data

    def claim(self, size: int) -> None:
        """Refuse a read of ``size`` bytes that the file cannot hold."""
        if size < 0 or size > self.remaining:
            raise UnsafeResultError(
                f"results.npy's pickle claims {size} bytes at byte {self.position} "
                f"but only {self.remaining} remain: the file is truncated or forged"
            )
        self.remaining -= size

    def readinto(self, buffer: memoryview) -> None:
        """Fill ``buffer`` (already claimed) straight from the file, without a copy."""
        done = 0
        while done < len(buffer):
            count = self.file.readinto(buffer[done:])  # type: ignore[attr-defined]
            if not count:
                raise UnsafeResultError(
                    f"results.npy ends early: its pickle is truncated at byte {self.position}"
                )
            done += count
            self.position += count

    def readline(self, limit: int = 256) -> str:
        chars = bytearray()
        while True:
            char = self.read(1)
            if char == b"\n":
                return chars.decode("ascii")
            chars += char
            if len(chars) > limit:
                raise UnsafeResultError(
                    "results.npy's pickle names a global longer than 256 characters"
                )


class _Machine:
    """The pickle virtual machine for the opcodes numpy's writers use."""

    def __init__(self, source: Source, hooks: PickleHooks) -> None:
        self.source = source
        self.hooks = hooks
        self.stack: list[object] = []
        self.metastack: list[list[object]] = []
        self.memo: dict[int, object] = {}
        self.ops: dict[int, Callable[[], None]] = {}
        for code, method in _OPCODES.items():
            self.ops[code[0]] = getattr(self, method)

    def run(self) -> object:
        for _ in range(MAX_OPCODES):
            code = self.source.read(1)[0]
            if code == ord("."):
                if len(self.stack) != 1 or self.metastack:
                    raise UnsafeResultError("results.npy's pickle stops with a malformed stack")
                return self.stack[0]
            op = self.ops.get(code)
            if op is None:
                raise UnsafeResultError(
                    f"results.npy's pickle uses opcode {bytes([code])!r} at byte "
                    f"{self.source.position - 1}, which numpy's writers never emit; refused"
                )
            op()
        raise UnsafeResultError(f"results.npy's pickle runs past {MAX_OPCODES} opcodes; refused")

    # -- helpers --------------------------------------------------------------------
    def _unpack(self, fmt: str) -> int | float:
        size = struct.calcsize(fmt)
        value: int | float = struct.unpack(fmt, self.source.read(size))[0]
        return value

    def _pop_mark(self) -> list[object]:
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def _push_text(self, size: int) -> None:
        self.stack.append(self.source.read(size).decode("utf-8", "surrogatepass"))

    def _push_bytes(self, size: int) -> None:
        if size <= SMALL_BYTES:
            self.stack.append(self.source.read(size))
        else:
            self.stack.append(self.hooks.read_bytes(self.source, size))

    def _get(self, index: int) -> None:
        if index not in self.memo:
            raise UnsafeResultError(
                f"results.npy's pickle refers to memo entry {index}, which it never set"
            )
        self.stack.append(self.memo[index])

    def _set_items(self, target: object, items: list[object]) -> None:
        if not isinstance(target, dict) or len(items) % 2:
            raise UnsafeResultError(
                "results.npy's pickle sets items on something that is not a dict"
            )
        for key, value in zip(items[::2], items[1::2], strict=True):
            if not isinstance(key, str):
                raise UnsafeResultError(
                    f"results.npy holds a dict key of type {type(key).__name__}; only str keys are accepted"
                )
            target[key] = value

    # -- opcodes --------------------------------------------------------------------
    def op_proto(self) -> None:
        version = self.source.read(1)[0]
        if not 2 <= version <= 5:
            raise UnsafeResultError(
                f"results.npy uses pickle protocol {version}; numpy writes 2 to 4"
            )

    def op_frame(self) -> None:
        self.source.read(8)  # frames only group reads; reading straight through is the same

    def op_mark(self) -> None:
        self.metastack.append(self.stack)
        self.stack = []

    def op_none(self) -> None:
        self.stack.append(None)

    def op_true(self) -> None:
        self.stack.append(True)

    def op_false(self) -> None:
        self.stack.append(False)

    def op_binint(self) -> None:
        self.stack.append(self._unpack("<i"))

    def op_binint1(self) -> None:
        self.stack.append(self.source.read(1)[0])

    def op_binint2(self) -> None:
        self.stack.append(self._unpack("<H"))

    def op_long1(self) -> None:
        size = self.source.read(1)[0]
        self.stack.append(int.from_bytes(self.source.read(size), "little", signed=True))

    def op_binfloat(self) -> None:
        self.stack.append(self._unpack(">d"))

    def op_short_binunicode(self) -> None:
        self._push_text(self.source.read(1)[0])

    def op_binunicode(self) -> None:
        self._push_text(int(self._unpack("<I")))

    def op_binunicode8(self) -> None:
        self._push_text(int(self._unpack("<Q")))

    def op_short_binbytes(self) -> None:
        self._push_bytes(self.source.read(1)[0])

    def op_binbytes(self) -> None:
        self._push_bytes(int(self._unpack("<I")))

    def op_binbytes8(self) -> None:
        self._push_bytes(int(self._unpack("<Q")))

    def op_empty_tuple(self) -> None:
        self.stack.append(())

    def op_tuple1(self) -> None:
        self._tuple_n(1)

    def op_tuple2(self) -> None:
        self._tuple_n(2)

    def op_tuple3(self) -> None:
        self._tuple_n(3)

    def _tuple_n(self, n: int) -> None:
        if len(self.stack) < n:
            self._underflow()
        items = tuple(self.stack[-n:])
        del self.stack[-n:]
        self.stack.append(items)

    def _underflow(self) -> None:
        raise UnsafeResultError("results.npy's pickle pops more than it pushed")

    def op_tuple(self) -> None:
        items = tuple(self._pop_mark())  # before self.stack: popping the mark replaces it
        self.stack.append(items)

    def op_empty_list(self) -> None:
        self.stack.append([])

    def op_list(self) -> None:
        items = self._pop_mark()
        self.stack.append(items)

    def op_append(self) -> None:
        value = self.stack.pop()
        self._target_list().append(value)

    def op_appends(self) -> None:
        items = self._pop_mark()
        self._target_list().extend(items)

    def _target_list(self) -> list[object]:
        target = self.stack[-1]
        if not isinstance(target, list):
            raise UnsafeResultError("results.npy's pickle appends to something that is not a list")
        return target

    def op_empty_dict(self) -> None:
        self.stack.append({})

    def op_dict(self) -> None:
        items = self._pop_mark()
        target: dict[str, object] = {}
        self._set_items(target, items)
        self.stack.append(target)

    def op_setitem(self) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        self._set_items(self.stack[-1], [key, value])

    def op_setitems(self) -> None:
        items = self._pop_mark()
        self._set_items(self.stack[-1], items)

    def op_memoize(self) -> None:
        self.memo[len(self.memo)] = self.stack[-1]

    def op_binput(self) -> None:
        self.memo[self.source.read(1)[0]] = self.stack[-1]

    def op_long_binput(self) -> None:
        self.memo[int(self._unpack("<I"))] = self.stack[-1]

    def op_binget(self) -> None:
        self._get(self.source.read(1)[0])

    def op_long_binget(self) -> None:
        self._get(int(self._unpack("<I")))

    def op_global(self) -> None:
        module = self.source.readline()
        name = self.source.readline()
        self.stack.append(self.hooks.find_global(module, name))

    def op_stack_global(self) -> None:
        name = self.stack.pop()
        module = self.stack.pop()
        if not isinstance(module, str) or not isinstance(name, str):
            raise UnsafeResultError(
                "results.npy's pickle names a global with something that is not text"
            )
        self.stack.append(self.hooks.find_global(module, name))

    def op_reduce(self) -> None:
        args = self.stack.pop()
        func = self.stack.pop()
        if not isinstance(args, tuple):
            raise UnsafeResultError(
                "results.npy's pickle calls something with arguments that are not a tuple"
            )
        self.stack.append(self.hooks.reduce(func, args))

    def op_build(self) -> None:
        state = self.stack.pop()
        self.hooks.build(self.stack[-1], state)


_OPCODES = {
    b"\x80": "op_proto",
    b"\x95": "op_frame",
    b"(": "op_mark",
    b"N": "op_none",
    b"\x88": "op_true",
    b"\x89": "op_false",
    b"J": "op_binint",
    b"K": "op_binint1",
    b"M": "op_binint2",
    b"\x8a": "op_long1",
    b"G": "op_binfloat",
    b"\x8c": "op_short_binunicode",
    b"X": "op_binunicode",
    b"\x8d": "op_binunicode8",
    b"C": "op_short_binbytes",
    b"B": "op_binbytes",
    b"\x8e": "op_binbytes8",
    b")": "op_empty_tuple",
    b"\x85": "op_tuple1",
    b"\x86": "op_tuple2",
    b"\x87": "op_tuple3",
    b"t": "op_tuple",
    b"]": "op_empty_list",
    b"l": "op_list",
    b"a": "op_append",
    b"e": "op_appends",
    b"}": "op_empty_dict",
    b"d": "op_dict",
    b"s": "op_setitem",
    b"u": "op_setitems",
    b"\x94": "op_memoize",
    b"q": "op_binput",
    b"r": "op_long_binput",
    b"h": "op_binget",
    b"j": "op_long_binget",
    b"c": "op_global",
    b"\x93": "op_stack_global",
    b"R": "op_reduce",
    b"b": "op_build",
}


def read_pickle(source: Source, hooks: PickleHooks) -> object:
    """Interpret the pickle at ``source``'s position; every refusal is an ``UnsafeResultError``."""
    machine = _Machine(source, hooks)
    try:
        return machine.run()
    except (UnsafeResultError, MemoryError):
        raise
    except (IndexError, KeyError, TypeError, ValueError, struct.error, RecursionError) as error:
        raise UnsafeResultError(
            f"results.npy holds a malformed pickle near byte {source.position}: {error}"
        ) from None
