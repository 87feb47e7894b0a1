"""Former H100-only 2:4 validation; the GPU sparse models now live in
``archgym.simulators.gpu.sparse`` / ``quant`` and are fitted and validated (H100 and H200 2:4,
VENOM V:N:M, MARLIN and torch weight-only) by ``experiments/sparse/fit_sparse_gpu.py``.
This name forwards there so older commands keep working:

    python experiments/sparse/validate_h100.py [--fit]
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

if __name__ == "__main__":
    path = Path(__file__).resolve().parent / "fit_sparse_gpu.py"
    spec = importlib.util.spec_from_file_location("fit_sparse_gpu", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.exit(module.main())
