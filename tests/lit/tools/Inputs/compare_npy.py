"""compare_npy.py EXPECTED.npy ACTUAL.npy BOUND: exits 1 (printing the
figures) unless the shapes agree and max |expected - actual| <= BOUND."""
import sys

import numpy as np

expected, actual = np.load(sys.argv[1]), np.load(sys.argv[2])
bound = float(sys.argv[3])
if expected.shape != actual.shape:
    sys.exit(f"shape {actual.shape}, expected {expected.shape}")
err = float(np.abs(expected.astype(np.float64) - actual).max())
print(f"max abs error {err:.3g} (bound {bound:g})")
sys.exit(0 if err <= bound else 1)
