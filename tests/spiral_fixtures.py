"""A known spiral chain (feature, ux, stability, support, churned) that tests simulate from."""
import numpy as np

TRUE_P = np.array([
    [0.30, 0.45, 0.10, 0.05, 0.10],
    [0.05, 0.25, 0.50, 0.10, 0.10],
    [0.05, 0.05, 0.30, 0.50, 0.10],
    [0.40, 0.05, 0.05, 0.40, 0.10],
    [0.00, 0.00, 0.00, 0.00, 1.00],
])
