#!/usr/bin/env python3
"""Writes tests/data/reference.safetensors with the official `safetensors`
package (pip install safetensors numpy), so mixlab's reader is tested against a
file another tool wrote. The expected values are repeated in
tests/train/test_safetensors.cpp; rerun only if both change together."""
import os

import numpy as np
from safetensors.numpy import save_file

here = os.path.dirname(os.path.abspath(__file__))
tensors = {
    "blocks.0.mixer.q_proj.weight": np.arange(6, dtype=np.float32).reshape(2, 3) / 4,
    "head.bias": np.array([1.5, -2.0, 3.25], dtype=np.float64),
    "step": np.array([[7, -8], [9, 10]], dtype=np.int64),
    "tokens": np.array([1, 2, 3, 8191], dtype=np.int32),
}
save_file(tensors, os.path.join(here, "reference.safetensors"), metadata={"format": "pt", "who": "numpy"})
