"""Argument conversion shared by the modules: contiguous float64 / int64 arrays, with the argument named when
something cannot be converted."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np


def float_array(name: str, value: Any, ndim: int = 1) -> np.ndarray:
    """`value` as a C-contiguous float64 array of `ndim` dimensions."""
    try:
        array = np.ascontiguousarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"argument `{name}`: cannot be read as numbers ({error})") from None
    if array.ndim != ndim:
        raise ValueError(f"argument `{name}`: must be a {ndim}-dimensional array, got shape {array.shape}")
    return array


def optional_float_array(name: str, value: Any, ndim: int = 1) -> Optional[np.ndarray]:
    return None if value is None else float_array(name, value, ndim)


def int_array(name: str, value: Any) -> np.ndarray:
    """`value` as a C-contiguous int64 vector; floats are accepted only when they are whole numbers."""
    array = np.asarray(value)
    if array.ndim != 1:
        raise ValueError(f"argument `{name}`: must be a 1-dimensional array, got shape {array.shape}")
    if array.dtype.kind in "iub":
        return np.ascontiguousarray(array, dtype=np.int64)
    if array.dtype.kind == "f":
        whole = np.isfinite(array) & (array == np.floor(array))
        if not whole.all():
            index = int(np.argmin(whole))
            raise ValueError(f"argument `{name}`, index {index}: must be an integer (value: {array[index]})")
        return np.ascontiguousarray(array, dtype=np.int64)
    raise ValueError(f"argument `{name}`: must hold integers, got dtype {array.dtype}")


def optional_int_array(name: str, value: Any) -> Optional[np.ndarray]:
    return None if value is None else int_array(name, value)
