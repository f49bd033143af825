"""Read a qibo ``results.npy`` (a pickled dict in a 0-d object array) without running it.

The ``.npy`` header is parsed here; its pickle goes to
:mod:`qibo_client.results.safe_pickle` with hooks that accept only the
globals numpy's writers use (``_reconstruct``, ``ndarray``, ``dtype``,
``scalar``, under their numpy 1.x and 2.x module names). Each array and
dtype state is checked against the shapes genuine files have before a real
numpy array is made from it; numpy's own ``__setstate__`` is never called.
"""

from __future__ import annotations

import ast
import math
import re
import struct
from pathlib import Path
from typing import Any

from qibo_client.exceptions import UnsafeResultError
from qibo_client.results.safe_pickle import Source, read_pickle

MAGIC = b"\x93NUMPY"
MAX_HEADER = 10_000
MAX_NDIM = 32
MAX_DIM = 1 << 40
MAX_DEPTH = 32
MAX_NODES = 1_000_000
#: Numeric dtypes a result may hold, by numpy's pickled name: kind and itemsize.
NUMERIC_NAME = re.compile(r"^(b1|[iu](1|2|4|8)|f(2|4|8)|c(8|16))$")
OBJECT_NAMES = {"O8", "O4"}
#: numpy's flags for the object dtype (NPY_OBJECT_DTYPE_FLAGS); numeric dtypes have 0.
OBJECT_FLAGS = 63


class _Global:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


RECONSTRUCT = _Global("numpy _reconstruct")
NDARRAY = _Global("numpy.ndarray")
DTYPE = _Global("numpy.dtype")
SCALAR = _Global("numpy scalar")
GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): RECONSTRUCT,
    ("numpy", "ndarray"): NDARRAY,
    ("numpy", "dtype"): DTYPE,
    ("numpy.core.multiarray", "scalar"): SCALAR,
    ("numpy._core.multiarray", "scalar"): SCALAR,
}


class _PendingDType:
    """A ``numpy.dtype(name, False, True)`` call, awaiting its state."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype: Any = None  # numpy.dtype once its state was checked

    @property
    def is_object(self) -> bool:
        return self.name in OBJECT_NAMES


class _PendingArray:
    """A ``_reconstruct(ndarray, (0,), b'b')`` call, awaiting its state."""

    def __init__(self) -> None:
        self.array: Any = None  # numeric ndarray once built
        self.objects: list[object] | None = None  # the items of an object array


class _BigBytes:
    """A long byte string read straight into a numpy buffer (no second copy)."""

    def __init__(self, buffer: Any) -> None:
        self.buffer = buffer

    def __len__(self) -> int:
        return len(self.buffer)


def _refuse(what: str) -> UnsafeResultError:
    return UnsafeResultError(f"results.npy refused: {what}")


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class NumpyHooks:
    """Give numpy's pickled globals their meaning, checking every state first."""

    def find_global(self, module: str, name: str) -> object:
        token = GLOBALS.get((module, name))
        if token is None:
            raise _refuse(
                f"it names the global {module}.{name}, which a qibo result never uses; nothing was run"
            )
        return token

    def reduce(self, func: object, args: tuple[object, ...]) -> object:
        if func is RECONSTRUCT:
            if len(args) == 3 and args[0] is NDARRAY and args[1] == (0,) and args[2] == b"b":
                return _PendingArray()
            raise _refuse(f"numpy _reconstruct called with {_describe(args)}")
        if func is DTYPE:
            if (
                len(args) == 3
                and isinstance(args[0], str)
                and (NUMERIC_NAME.match(args[0]) or args[0] in OBJECT_NAMES)
                and all(isinstance(flag, bool) for flag in args[1:])
            ):
                return _PendingDType(args[0])
            raise _refuse(
                f"numpy.dtype called with {_describe(args)}; only plain numeric dtypes are accepted"
            )
        if func is SCALAR:
            return self._scalar(args)
        raise _refuse(f"it calls {_describe(func)}, which is not callable in a qibo result")

    def _scalar(self, args: tuple[object, ...]) -> object:
        import numpy as np

        if len(args) == 2 and isinstance(args[0], _PendingDType) and isinstance(args[1], bytes):
            dtype = args[0].dtype
            if dtype is not None and not args[0].is_object and len(args[1]) == dtype.itemsize:
                return np.frombuffer(args[1], dtype=dtype)[0]
        raise _refuse(f"numpy scalar with {_describe(args)}")

    def build(self, obj: object, state: object) -> None:
        if isinstance(obj, _PendingDType) and obj.dtype is None:
            obj.dtype = _checked_dtype(obj, state)
        elif isinstance(obj, _PendingArray) and obj.array is None and obj.objects is None:
            _build_array(obj, state)
        else:
            raise _refuse(f"it sets the state of {_describe(obj)}, which takes none")

    def read_bytes(self, source: Source, size: int) -> object:
        import numpy as np

        source.claim(size)
        buffer = np.empty(size, dtype=np.uint8)
        source.readinto(memoryview(buffer.data))
        return _BigBytes(buffer)


def _checked_dtype(pending: _PendingDType, state: object) -> Any:
    import numpy as np

    if not isinstance(state, tuple) or len(state) not in (8, 9):
        raise _refuse(f"dtype {pending.name} with state {_describe(state)}")
    version, order, subarray, names, fields, elsize, alignment, flags = state[:8]
    metadata = state[8] if len(state) == 9 else None
    itemsize = int(pending.name[1:])
    single_byte = pending.is_object or itemsize == 1
    if (
        version not in (3, 4)
        or (subarray, names, fields, metadata) != (None, None, None, None)
        or (elsize, alignment) != (-1, -1)
        or flags != (OBJECT_FLAGS if pending.is_object else 0)
        or type(flags) is not int
        or order not in (("|",) if single_byte else ("<", ">", "="))
    ):
        raise _refuse(f"dtype {pending.name} with state {_describe(state)}")
    if pending.is_object:
        return np.dtype(object)
    return np.dtype(("" if single_byte else order) + pending.name)


def _build_array(pending: _PendingArray, state: object) -> None:
    import numpy as np

    if not isinstance(state, tuple) or len(state) != 5:
        raise _refuse(f"array state {_describe(state)}")
    version, shape, dtype, fortran, data = state
    if type(version) is not int or version != 1 or not isinstance(fortran, bool):
        raise _refuse(f"array state {_describe(state)}")
    if (
        not isinstance(shape, tuple)
        or len(shape) > MAX_NDIM
        or not all(type(n) is int and 0 <= n <= MAX_DIM for n in shape)
    ):
        raise _refuse(f"array shape {_describe(shape)}")
    if not isinstance(dtype, _PendingDType) or dtype.dtype is None:
        raise _refuse(f"array dtype {_describe(dtype)}")
    if dtype.is_object:
        if shape != () or not isinstance(data, list) or fortran:
            raise _refuse("an object array other than the 0-d one holding the result dict")
        pending.objects = data
        return
    if not isinstance(data, bytes | _BigBytes):
        raise _refuse(f"array data of type {type(data).__name__}")
    expected = math.prod(shape) * dtype.dtype.itemsize
    if expected != len(data):
        raise _refuse(
            f"array of shape {shape} and dtype {dtype.dtype} needs {expected} bytes, the file holds {len(data)}"
        )
    order = "F" if fortran else "C"
    if isinstance(data, _BigBytes):
        flat = data.buffer.view(dtype.dtype)
    else:
        flat = np.frombuffer(data, dtype=dtype.dtype).copy()  # writable, like numpy's own
    if not dtype.dtype.isnative:  # numpy's unpickling also hands back native byte order
        flat = flat.astype(dtype.dtype.newbyteorder("="))
    pending.array = flat.reshape(shape, order=order)


class _Plain:
    """Turn the pickle's objects into plain Python and numpy values, bounded."""

    def __init__(self) -> None:
        self.nodes = 0

    def convert(self, value: object, depth: int = 0) -> Any:
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            raise _refuse("its payload is nested too deeply or too large (a cycle?)")
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, _PendingArray):
            if value.array is None:
                raise _refuse("an array without data, or an object array inside the payload")
            return value.array
        if isinstance(value, list):
            return [self.convert(item, depth + 1) for item in value]
        if isinstance(value, tuple):
            return tuple(self.convert(item, depth + 1) for item in value)
        if isinstance(value, dict):
            return {key: self.convert(item, depth + 1) for key, item in value.items()}
        if type(value).__module__ == "numpy" and hasattr(value, "dtype"):
            return value  # a checked numpy scalar
        raise _refuse(f"a value of type {type(value).__name__} in the payload")


def read_header(source: Source) -> dict[str, Any]:
    """The ``.npy`` header dict; refuse anything that is not numpy's format."""
    magic = source.file.read(8)
    source.claim(len(magic))
    source.position += len(magic)
    if len(magic) < 8 or magic[:6] != MAGIC:
        raise UnsafeResultError(f"results.npy is not a numpy file: it begins {magic!r}")
    major = magic[6]
    if major not in (1, 2, 3):
        raise UnsafeResultError(f"results.npy uses .npy format version {major}.{magic[7]}")
    size = struct.unpack("<H" if major == 1 else "<I", source.read(2 if major == 1 else 4))[0]
    if size > MAX_HEADER:
        raise UnsafeResultError(
            f"results.npy has a {size}-byte header; numpy's are under {MAX_HEADER}"
        )
    text = source.read(size).decode("utf-8" if major == 3 else "latin1", "replace")
    try:
        header = ast.literal_eval(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError, TypeError):
        raise UnsafeResultError(f"results.npy has an unreadable header {text[:80]!r}") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise UnsafeResultError(f"results.npy has an unexpected header {text[:80]!r}")
    return header


def read_result_payload(path: Path) -> dict[str, Any]:
    """The dict a qibo result's ``dump`` saved in ``path``, with checked numpy arrays."""
    with open(path, "rb") as file:
        source = Source(file, path.stat().st_size)
        header = read_header(source)
        if header != {"descr": "|O", "fortran_order": False, "shape": ()}:
            raise UnsafeResultError(
                f"results.npy holds a plain array ({_describe(header)}), not the pickled dict qibo writes"
            )
        top = read_pickle(source, NumpyHooks())
    if not isinstance(top, _PendingArray) or top.objects is None or len(top.objects) != 1:
        raise _refuse(f"its pickle holds {_describe(top)}, not qibo's 0-d object array")
    payload = _Plain().convert(top.objects[0])
    if not isinstance(payload, dict):
        raise _refuse(f"it holds a {type(payload).__name__}, not the dict qibo's dump writes")
    return payload
