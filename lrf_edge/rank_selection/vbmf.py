"""Empirical variational Bayesian matrix factorization (EVBMF): a rank from the noise level.

The global analytic solution of fully observed VBMF (Nakajima et al., JMLR 2013), with the
noise variance estimated by minimising the free energy. Kim et al. (2016) apply it to the
mode unfoldings of a convolution kernel to pick Tucker-2 ranks; we use it as the baseline
against similarity-based rank selection.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar


def _tau(x: np.ndarray, alpha: float) -> np.ndarray:
    return 0.5 * (x - (1 + alpha) + np.sqrt((x - (1 + alpha)) ** 2 - 4 * alpha))


def _free_energy(sigma2: float, rows: int, cols: int, s: np.ndarray, residual: float,
                 xubar: float) -> float:
    h = len(s)
    alpha = rows / cols
    x = s ** 2 / (cols * sigma2)
    z1, z2 = x[x > xubar], x[x <= xubar]
    tau_z1 = _tau(z1, alpha)
    return float(np.sum(z2 - np.log(z2)) + np.sum(z1 - tau_z1)
                 + np.sum(np.log((tau_z1 + 1) / z1)) + alpha * np.sum(np.log(tau_z1 / alpha + 1))
                 + residual / (cols * sigma2) + (rows - h) * np.log(sigma2))


def evbmf_rank(matrix: np.ndarray) -> int:
    """The rank EVBMF keeps for this matrix (at least 1)."""
    y = np.asarray(matrix, np.float64)
    if y.shape[0] > y.shape[1]:
        y = y.T
    rows, cols = y.shape
    alpha = rows / cols
    tauubar = 2.5129 * np.sqrt(alpha)
    s = np.linalg.svd(y, compute_uv=False)
    xubar = (1 + tauubar) * (1 + alpha / tauubar)
    eh_ub = int(min(np.ceil(rows / (1 + alpha)) - 1, rows)) - 1
    upper = float(np.sum(s ** 2)) / (rows * cols)
    tail = s[eh_ub + 1:] if eh_ub + 1 < len(s) else s[-1:]
    lower = max(tail[0] ** 2 / (cols * xubar), float(np.mean(tail ** 2)) / cols)
    if not lower < upper:
        return 1
    sigma2 = minimize_scalar(_free_energy, args=(rows, cols, s, 0.0, xubar),
                             bounds=(lower, upper), method="bounded").x
    threshold = np.sqrt(cols * sigma2 * (1 + tauubar) * (1 + alpha / tauubar))
    return max(1, int(np.sum(s > threshold)))
