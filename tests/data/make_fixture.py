"""Writes tests/data/fixture.safetensors with the reference implementation of safetensors.

Run once (the bytes are committed; tests/it/serialization.rs checks them bit for bit):

    python3 -m venv /tmp/st && /tmp/st/bin/pip install safetensors==0.8.0 numpy==2.4.6
    /tmp/st/bin/python tests/data/make_fixture.py

Values are exact binary fractions or given as bit patterns, so the Rust test can state
the same values without depending on how either side rounds arithmetic.
"""

from pathlib import Path

import numpy as np
from safetensors.numpy import save_file


def f32_bits(*bits):
    return np.array(bits, dtype=np.uint32).view(np.float32)


def f64_bits(*bits):
    return np.array(bits, dtype=np.uint64).view(np.float64)


tensors = {
    # Non-square, so a transposed read would be caught: element (i, j) = (3i + j) / 4 - 1.
    "dense.weight": (np.arange(15, dtype=np.float32) / 4 - 1).reshape(5, 3),
    "dense.bias": np.array([0.5, -0.25, 2.0], dtype=np.float32),
    "scale": np.array(1.5, dtype=np.float64),  # rank 0
    # Element (a, b, c) = 12a + 4b + c, times 1/8.
    "cube": (np.arange(24, dtype=np.float64) / 8).reshape(2, 3, 4),
    "rank4": (np.arange(12, dtype=np.float32) - 6).reshape(1, 2, 2, 3),
    "specials32": f32_bits(
        0x80000000,  # -0.0
        0x00000001,  # smallest subnormal
        0x7F7FFFFF,  # largest finite
        0x00800000,  # smallest normal
        0x7F800000,  # +inf
        0xFF800000,  # -inf
        0x7FC00000,  # quiet NaN
        0x7FC00001,  # quiet NaN with a payload
    ),
    "specials64": f64_bits(
        0x8000000000000000,  # -0.0
        0x0000000000000001,  # smallest subnormal
        0x7FEFFFFFFFFFFFFF,  # largest finite
        0x7FF0000000000000,  # +inf
        0x7FF8000000000001,  # quiet NaN with a payload
        0x3FB999999999999A,  # 0.1
    ),
    "half": np.array([1.0, -2.0], dtype=np.float16),  # an element type typegrad does not compute with
    "empty": np.zeros((0,), dtype=np.float32),
}

save_file(tensors, Path(__file__).with_name("fixture.safetensors"), metadata={"format": "np"})
