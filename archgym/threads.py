"""One compute thread per process by default: the CLI, the runner's workers and the test suite.

BLAS, OpenMP (scikit-learn) and torch start one thread per core. On the small shared machines
this project runs on, and in every parallel run where each process already has its own core,
those threads fight over the cores: the test suite took 976 s instead of 131 s and
``archgym proxy train`` 72 s instead of 5.7 s. A value the user set in ``OMP_NUM_THREADS`` wins.
"""

from __future__ import annotations

import os
import sys

__all__ = ["limit_threads"]

_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def limit_threads(default: int = 1) -> int:
    """Cap compute threads at ``OMP_NUM_THREADS`` if set, else ``default``; returns the cap.

    Sets the environment variables (read by libraries loaded later and by child processes) and
    limits the thread pools of libraries already loaded (through threadpoolctl, and torch when it
    is imported).
    """
    try:
        n = max(1, int(os.environ.get("OMP_NUM_THREADS", default)))
    except ValueError:
        n = default
    for name in _VARS:
        os.environ.setdefault(name, str(n))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        threadpool_limits(n)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
    return n
