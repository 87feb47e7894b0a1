"""Pinned floating-point code paths for the fits whose output files must reproduce byte for byte.

numpy picks its SIMD code for ``log``, ``exp``, ``power`` ... at import, by CPU (AVX2, AVX-512),
and OpenBLAS picks its kernels by CPU too; the two paths round differently in the last bit.
The calibration fits (``archgym gpu calibrate``, ``experiments/sparse/fit_sparse_gpu.py
--fit``) have flat directions in their loss, so a last-bit difference early in a fit can end
it on other constants of equal cost: the H100 library file fitted on an AVX-512 machine differed
from the one fitted on an AVX2 machine (same mean error, 7.12 vs 7.15 %). These fits therefore
run in a child process with numpy's AVX-512 dispatch disabled, OpenBLAS on its Haswell (AVX2)
kernels and one thread, so every x86-64 CPU with AVX2 writes the same bytes. On other CPUs
(ARM) nothing is pinned and the files reproduce only as an equally good fit
(``simulators.gpu.fitting.calibration_agreement``).
"""

from __future__ import annotations

import os
import subprocess
import sys

__all__ = ["PINNED_FLAG", "pinned_env", "run_pinned"]

#: Set in the child process, so that it runs the fit itself.
PINNED_FLAG = "ARCHGYM_PINNED_NUMERICS"


def pinned_env() -> dict[str, str] | None:
    """The environment of a child process that takes the AVX2 code paths, or ``None`` where
    they cannot be pinned (no AVX2: another architecture, or numpy's feature table missing)."""
    try:
        from numpy._core import _multiarray_umath as mu
    except ImportError:  # numpy 1.x
        from numpy.core import _multiarray_umath as mu
    features = getattr(mu, "__cpu_features__", {})
    if not features.get("AVX2"):
        return None
    wide = [f for f in getattr(mu, "__cpu_dispatch__", ()) if "512" in f or f == "X86_V4"]
    env = dict(os.environ)
    env.update(
        {
            PINNED_FLAG: "1",
            "NPY_DISABLE_CPU_FEATURES": " ".join(f for f in wide if features.get(f)),
            "OPENBLAS_CORETYPE": "Haswell",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
        }
    )
    return env


def run_pinned(argv: list[str]) -> int | None:
    """Run ``python argv...`` under :func:`pinned_env` and return its exit code; ``None`` when
    this process is that child already, or nothing can be pinned: the caller then fits
    in-process."""
    if os.environ.get(PINNED_FLAG) == "1":
        return None
    env = pinned_env()
    if env is None:
        return None
    # -P: a module run with -m must not come from an "archgym" folder in the working directory
    flags = ["-P"] if argv[:1] == ["-m"] else []
    return subprocess.run([sys.executable, *flags, *argv], env=env, check=False).returncode
