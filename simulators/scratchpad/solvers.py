"""MILP solvers for the scratchpad models: HiGHS (highspy) and CBC through PuLP, run quietly.

HiGHS prints its banner on the C-level stdout, which ``msg=False`` cannot stop; every solve
here runs inside :func:`quiet`, which points file descriptors 1 and 2 at ``/dev/null`` for its
duration (after flushing Python's and C's buffers), so a command's stdout carries only its
result.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import pulp

__all__ = ["SOLVERS", "gap", "make_solver", "quiet", "run"]

SOLVERS = ("highs", "cbc")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence everything written to file descriptors 1 and 2 (C libraries included)."""
    libc = ctypes.CDLL(None)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        libc.fflush(None)  # C stdio buffers go to /dev/null, not to the restored stdout
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


class _WarmHiGHS(pulp.HiGHS):
    """pulp.HiGHS that hands the variables' initial values to HiGHS as a starting solution."""

    def callSolver(self, lp: Any) -> None:
        import highspy

        start = highspy.HighsSolution()
        start.col_value = [float(v.varValue or 0.0) for v in lp.variables()]
        start.value_valid = True
        lp.solverModel.setSolution(start)
        lp.solverModel.run()


def _cbc_path() -> str | None:
    """CBC on the PATH (``pip install pulp[cbc]``), else the binary PuLP 3.x still bundles.

    ``COIN_CMD`` with an explicit path is the non-deprecated way to run the bundled binary
    (``PULP_CBC_CMD`` warns that PuLP 4.0 removes it); None lets COIN_CMD report that no CBC
    is available.
    """
    found = shutil.which("cbc")
    if found:
        return found
    from pulp.apis import coin_api

    bundled = getattr(coin_api, "pulp_cbc_path", None)
    return bundled if bundled and os.access(bundled, os.X_OK) else None


def make_solver(
    solver: str, time_limit_s: float | None, *, threads: int = 1, warm: bool = False
) -> Any:
    """A PuLP solver object; exact optimality (no relative-gap early stop). With ``warm``, the
    variables' initial values (``setInitialValue``) are passed as a starting solution."""
    if solver == "highs":
        cls = _WarmHiGHS if warm else pulp.HiGHS
        return cls(msg=False, timeLimit=time_limit_s, gapRel=0.0, gapAbs=0.5, threads=threads)
    if solver == "cbc":
        return pulp.COIN_CMD(
            msg=False,
            timeLimit=time_limit_s,
            gapRel=0.0,
            gapAbs=0.5,
            threads=threads,
            warmStart=warm,
            path=_cbc_path(),
        )
    raise ValueError(f"unknown solver {solver!r}; valid: {', '.join(SOLVERS)}")


def run(
    prob: pulp.LpProblem,
    solver: str,
    time_limit_s: float | None,
    threads: int,
    *,
    warm: bool = False,
    nonnegative: bool = True,
) -> dict[str, Any]:
    """Solve ``prob`` quietly: ``{status, objective, bound, info}``.

    ``status`` is ``optimal`` (proven), ``feasible`` (a solution, not proven), ``infeasible``
    (proven) or ``timeout`` (no solution in time). ``bound`` is the solver's proven lower bound
    (HiGHS reports one at a time limit; CBC through PuLP does not, so None), raised to 0 when
    the objective is known to be ``nonnegative`` (bytes of traffic).
    """
    note = None
    if warm and solver == "highs":
        # HiGHS 1.x through PuLP, given a start solution, has reported "optimal" at the start's
        # value when better solutions existed (DenseNet-121, activations, mid: 2,609,152 B
        # "optimal" warm vs 1,404,928 B optimal cold). Never trade correctness for speed.
        warm, note = False, "ignored for HiGHS (false optimality with a start solution)"
    try:
        with quiet():
            prob.solve(make_solver(solver, time_limit_s, threads=threads, warm=warm))
    except pulp.PulpSolverError as exc:  # CBC can exit abnormally at its time limit
        info = {"solver_error": str(exc).split(",")[0], "variables": len(prob.variables())}
        return {
            "status": "timeout",
            "objective": None,
            "bound": 0.0 if nonnegative else None,
            "info": info,
        }
    sol = prob.sol_status
    if sol == pulp.LpSolutionOptimal:
        status = "optimal"
    elif sol == pulp.LpSolutionIntegerFeasible:
        status = "feasible"
    elif sol == pulp.LpSolutionInfeasible:
        status = "infeasible"
    else:  # no solution found: a time limit (never reported as infeasible)
        status = "timeout"
    objective = pulp.value(prob.objective) if status in ("optimal", "feasible") else None
    bound = objective if status == "optimal" else None
    if solver == "highs" and status != "infeasible" and getattr(prob, "solverModel", None):
        h = prob.solverModel
        offset = (objective - h.getInfo().objective_function_value) if objective is not None else 0
        dual = h.getInfo().mip_dual_bound
        if abs(dual) < 1e300:
            bound = dual + (offset if objective is not None else prob.objective.constant)
    if nonnegative and status != "infeasible":
        bound = max(bound or 0.0, 0.0)  # traffic is never negative: 0 is always a bound
    info = {
        "warm_start": warm if note is None else note,
        "pulp_status": pulp.LpStatus[prob.status],
        "variables": len(prob.variables()),
        "constraints": prob.numConstraints(),
    }
    return {"status": status, "objective": objective, "bound": bound, "info": info}


def gap(objective: float | None, bound: float | None) -> float | None:
    """``(objective - bound) / max(objective, 1)``; None unless both are known."""
    if objective is None or bound is None:
        return None
    return max(0.0, objective - bound) / max(abs(objective), 1.0)
