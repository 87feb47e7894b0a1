"""Validate the GPU GEMM model: a thin wrapper of ``archgym gpu validate``.

    python experiments/gpu/validate.py                       # H100 held-out tables
    python experiments/gpu/validate.py --device h200-sxm     # H200: model, zero-shot, baselines
    python experiments/gpu/validate.py --device h200-sxm --few-shot 50
    python experiments/gpu/validate.py --device h200-sxm --csv NEW.csv

The logic lives in ``archgym.simulators.gpu.validation`` (it runs from a plain install).
"""

from __future__ import annotations

import sys

from archgym.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    """Run ``archgym gpu validate`` with ``argv``."""
    return cli_main(["gpu", "validate", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
