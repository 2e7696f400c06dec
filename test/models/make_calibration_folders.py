#!/usr/bin/python3
"""Writes ONNX test-data folders for calibration: OUT/test_data_set_I/input_0.pb
holding row I of NPY (kept 2-D, [1, ...]), for the first N rows.

  make_calibration_folders.py NPY OUT N INPUT_NAME
"""
import os
import sys

import numpy as np
from onnx import numpy_helper


def main():
    rows = np.load(sys.argv[1])
    out, n, name = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    for i in range(min(n, len(rows))):
        folder = os.path.join(out, "test_data_set_%d" % i)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "input_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(rows[i:i + 1], name).SerializeToString())


if __name__ == "__main__":
    main()
