"""Model selection for the 2:4 kernel-time model by grouped k-fold cross-validation (issue 13).

    python experiments/sparse/sparse24_cv.py [--folds 5] [--seed 0] [--max-rows N]

Every 2:4 row of each device (fp16 and bf16, torch's default kernel; the training files and
the never-fitted sets together) is split into ``--folds`` folds by shape (all dtypes and runs
of one (m, n, k) stay in one fold; shapes shuffled with ``--seed``). For each fold the
candidate kernel-time models are fitted on the other folds (rows with m*n*k >= 2^32, the
sparse kernel time, mean |log error|) and the speedup (dense model's time over the 2:4 time)
is scored on the fold's compute-bound rows (m*n*k >= 2^33). Printed per device and dtype: the
fold-mean of the mean |error| and of Spearman's rho, next to the per-dtype constant (training
mean), a learned GBM (same training rows) and the sign rule "2:4 slower iff m*n*k < 2^33".

Candidates: ``fitted-tile`` (the previous shipped form: one fitted tile of five per dtype, no
segment-K), ``fitted+clust`` (the same, CTAs launched in the profiled thread-block clusters:
8 for bf16, so 120 of the 132 SMs hold a wave), ``profiled`` (the profiled tile per dtype, fp16
128x256 and bf16 64x256, in their clusters, with the profiled segment-K rules; see
``archgym.simulators.gpu.sparse``), ``profiled+mis`` (the same, fp16 with a fitted mainloop
fraction where m is off the token tile, in the waves where most SMs load at once,
``sparse._off_tile_share``),
``profiled+align`` (that, and both dtypes with a fitted fraction where m is off a multiple of
16, ``sparse.ALIGN_TOKENS``), ``profiled+decay`` (that, and fp16's off-tile slowdown falling
with the token count, ``sparse.off_tile_decay``, where enough rows measure it) and ``shipped`` (the form per dtype that
``fit_sparse_gpu.py --fit`` ships, ``fit_sparse_gpu.SELECTED``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from archgym.simulators.gpu.sparse import (
    ALIGN_TOKENS,
    SPARSE24_TILES,
    Sparse24Params,
    padded_tokens,
    sparse24_time_us,
)
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fit_sparse_gpu as fsg

PROFILED_TILE = {"fp16": (128, 256), "bf16": (64, 256)}
PROFILED_CLUSTER = {"fp16": 1, "bf16": 8}  # cgasize of the profiled kernels
#: The profiled segment-K rule per dtype: (k above which it fires, only past one wave)
PROFILED_SEGK = {"fp16": (1024.0, False), "bf16": (4096.0, True)}
GRID = fsg.PARAM_GRID


def _loss(dev: str, dtype: str, rows: list[dict], p: Sparse24Params) -> np.ndarray:
    m, n, k, t = (fsg._arr(rows, c)[None, :] for c in ("m", "n", "k", "sparse"))
    pred = sparse24_time_us(dev, m, n, k, dtype, "torch-default", params=p)
    return np.abs(np.log(pred / t)).mean(axis=1)


def _grid_fit(dev, dtype, rows, tiles, segk: bool, cluster: int = 1):
    best = (np.inf, None)
    g = GRID
    for tile in tiles:
        rule = dict(zip(("segk_min_k", "segk_multiwave"), PROFILED_SEGK[dtype], strict=True))
        extra = (
            dict(segk_us=np.zeros_like(g[0]), segk_frac=np.ones_like(g[0]), **rule) if segk else {}
        )
        extra["cluster"] = cluster
        p = Sparse24Params(*g[:4], tile=tile, pj_per_flop=g[4], overlap_p=g[5], **extra)
        loss = _loss(dev, dtype, rows, p)
        i = int(np.argmin(loss))
        if loss[i] < best[0]:
            v = [float(x) for x in g[:, i, 0]]
            extra = dict(segk_us=0.0, segk_frac=1.0, **rule) if segk else {}
            extra["cluster"] = cluster
            best = (float(loss[i]), Sparse24Params(*v[:4], tile=tile, pj_per_flop=v[4],
                                                   overlap_p=v[5], **extra))  # fmt: skip
    return best


def fit_fitted_tile(dev: str, dtype: str, rows: list[dict]) -> Sparse24Params:
    """The previous shipped form: grid search, the tile one of SPARSE24_TILES."""
    return _grid_fit(dev, dtype, rows, SPARSE24_TILES, segk=False)[1]


#: Powell's bounds per fitted constant (the forms below refit subsets of these).
BOUNDS = {
    "rate_frac": (0.1, 1.0),
    "bw_frac": (0.1, 1.0),
    "launch_us": (0.0, 40.0),
    "fill_us": (0.0, 10.0),
    "pj_per_flop": (0.0, 5.0),
    "segk_us": (0.0, 40.0),
    "segk_frac": (0.3, 1.0),
    "mis_frac": (0.3, 1.0),
    "align_frac": (0.3, 1.0),
    "off_tile_tokens": (256.0, 32768.0),
    "off_tile_floor": (0.05, 1.0),
}
BASE_NAMES = ["rate_frac", "bw_frac", "launch_us", "fill_us", "pj_per_flop"]
SEGK_NAMES = ["segk_us", "segk_frac"]


def _powell(dev, dtype, rows, p0: Sparse24Params, names: list[str]) -> Sparse24Params:
    """Powell over the constants ``names`` of ``p0`` within their ``BOUNDS``, from p0."""
    lo, hi = np.array([BOUNDS[nm] for nm in names]).T
    x0 = np.array([getattr(p0, nm) for nm in names], dtype=float)

    def make(x):
        x = np.clip(x, lo, hi)
        return replace(p0, **dict(zip(names, (float(v) for v in x), strict=True)))

    res = minimize(lambda x: float(_loss(dev, dtype, rows, make(x))[0]), x0, method="Powell",
                   bounds=list(zip(lo, hi, strict=True)), options={"maxiter": 3000, "xtol": 1e-3})  # fmt: skip
    return make(res.x)


def fit_profiled(dev: str, dtype: str, rows: list[dict]) -> Sparse24Params:
    """Profiled tile per dtype in its cluster, with segment-K: the grid, then Powell over the
    continuous constants (rate, HBM fraction, launch, fill, pJ/op, segment-K cost and rate)."""
    segk = dtype in PROFILED_SEGK
    tile, cl = PROFILED_TILE[dtype], PROFILED_CLUSTER[dtype]
    _, p0 = _grid_fit(dev, dtype, rows, (tile,), segk=segk, cluster=cl)
    return _powell(dev, dtype, rows, p0, BASE_NAMES + SEGK_NAMES * segk)


def fit_profiled_mis(dev: str, dtype: str, rows: list[dict]) -> Sparse24Params:
    """``profiled`` plus, for fp16, a fitted mainloop fraction where m is not a multiple of the
    token tile and more than half the SMs load at once."""
    p = fit_profiled(dev, dtype, rows)
    if dtype != "fp16":
        return p
    return _powell(
        dev, dtype, rows, replace(p, mis_frac=0.8), BASE_NAMES + SEGK_NAMES + ["mis_frac"]
    )


def fit_profiled_align(dev: str, dtype: str, rows: list[dict]) -> Sparse24Params:
    """``profiled+mis`` plus, for both dtypes, a fitted mainloop fraction where m is not a
    multiple of 16 (``sparse.ALIGN_TOKENS``)."""
    p = replace(fit_profiled_mis(dev, dtype, rows), align_frac=0.8)
    names = BASE_NAMES + SEGK_NAMES + ["align_frac"] + ["mis_frac"] * (dtype == "fp16")
    return _powell(dev, dtype, rows, p, names)


#: Fewest fp16 rows that fit the fall with m: past ``DECAY_MIN_TOKENS``, the padded m a multiple
#: of 16 and off the token tile (the rows the fall applies to). The H100's campaign has 7, the
#: H200's 79 (the two off-tile sweeps' 66 among them): the H100 keeps v13's form, no fall.
DECAY_MIN_ROWS, DECAY_MIN_TOKENS = 30, 2048


def fit_profiled_decay(dev: str, dtype: str, rows: list[dict]) -> Sparse24Params:
    """``profiled+align`` plus, for fp16 where measured (``DECAY_MIN_ROWS``), the off-tile
    slowdown's fall with the token count (``sparse.off_tile_decay``: where and to what share)."""
    p = fit_profiled_align(dev, dtype, rows)
    padded = [int(padded_tokens(r["m"])) for r in rows if r["m"] > DECAY_MIN_TOKENS]
    past = [m for m in padded if m % 256 and m % ALIGN_TOKENS == 0]
    if dtype != "fp16" or len(past) < DECAY_MIN_ROWS:
        return p
    p = replace(p, off_tile_tokens=3000.0, off_tile_floor=0.5)
    names = (
        BASE_NAMES + SEGK_NAMES + ["align_frac", "mis_frac", "off_tile_tokens", "off_tile_floor"]
    )
    return _powell(dev, dtype, rows, p, names)


def fit_fitted_tile_cluster(dev: str, dtype: str, rows: list[dict]) -> Sparse24Params:
    """The fitted tile, launched in the profiled clusters (bf16: 8 CTAs; 120 of 132 SMs)."""
    return _grid_fit(dev, dtype, rows, SPARSE24_TILES, segk=False,
                     cluster=PROFILED_CLUSTER[dtype])[1]  # fmt: skip


def fit_shipped(dev: str, dtype: str, rows: list[dict]) -> Sparse24Params:
    """The form shipped per dtype (``fit_sparse_gpu.SELECTED``)."""
    return CANDIDATES[fsg.SELECTED[dtype]](dev, dtype, rows)


CANDIDATES = {
    "fitted-tile": fit_fitted_tile,
    "fitted+clust": fit_fitted_tile_cluster,
    "profiled": fit_profiled,
    "profiled+mis": fit_profiled_mis,
    "profiled+align": fit_profiled_align,
    "profiled+decay": fit_profiled_decay,
    "shipped": fit_shipped,
}


def folds_of(rows: list[dict], n_folds: int, seed: int) -> np.ndarray:
    """Fold index per row: shapes (device, m, n, k) shuffled and dealt round-robin."""
    shapes = sorted({(r["device"], r["m"], r["n"], r["k"]) for r in rows})
    order = np.random.default_rng(seed).permutation(len(shapes))
    fold = {shapes[j]: i % n_folds for i, j in enumerate(order)}
    return np.array([fold[(r["device"], r["m"], r["n"], r["k"])] for r in rows])


def _gbm(train: list[dict], test: list[dict], seed: int) -> np.ndarray:
    from sklearn.ensemble import GradientBoostingRegressor

    def feats(rs):
        return np.array([[np.log2(r["m"]), np.log2(r["n"]), np.log2(r["k"]),
                          float(r["dtype"] == "bf16")] for r in rs])  # fmt: skip

    gbm = GradientBoostingRegressor(
        n_estimators=200, max_depth=3, learning_rate=0.05, subsample=0.8, random_state=seed
    )
    gbm.fit(feats(train), np.log([r["dense"] / r["sparse"] for r in train]))
    return np.exp(gbm.predict(feats(test)))


def cross_validate(rows: list[dict], n_folds: int, seed: int, methods=tuple(CANDIDATES)) -> dict:
    """Per (device, dtype, method): list of per-fold (mean |err|, rho, sign accuracy)."""
    out: dict = {}
    for dev in sorted({r["device"] for r in rows}):
        sel = [r for r in rows if r["device"] == dev]
        fold = folds_of(sel, n_folds, seed)
        for f in range(n_folds):
            tr = [r for r, i in zip(sel, fold, strict=True) if i != f]
            te = [r for r, i in zip(sel, fold, strict=True) if i == f]
            tr_fit = [r for r in tr if fsg._mnk(r) >= fsg.FIT_MIN_MNK]
            pred = {"GBM": _gbm(tr_fit, te, seed)}
            for dtype in ("fp16", "bf16"):
                mask = np.array([r["dtype"] == dtype for r in te])
                const = np.mean([r["dense"] / r["sparse"] for r in tr
                                 if r["dtype"] == dtype and fsg._mnk(r) >= fsg.CB])  # fmt: skip
                pred.setdefault("const", np.zeros(len(te)))[mask] = const
                trd = [r for r in tr_fit if r["dtype"] == dtype]
                ted = [r for r in te if r["dtype"] == dtype]
                if len(trd) < 5 or not ted:
                    raise SystemExit(f"{dev} {dtype}: too few rows for {n_folds} folds")
                for name in methods:
                    p = CANDIDATES[name](dev, dtype, trd)
                    t = sparse24_time_us(dev, fsg._arr(ted, "m"), fsg._arr(ted, "n"),
                                         fsg._arr(ted, "k"), dtype, params=p)  # fmt: skip
                    pred.setdefault(name, np.zeros(len(te)))[mask] = fsg._arr(ted, "dense_pred") / t
            meas = np.array([r["dense"] / r["sparse"] for r in te])
            cb = np.array([fsg._mnk(r) >= fsg.CB for r in te])
            slow = meas < 1
            rule = ~cb
            for dtype in ("fp16", "bf16", "fp16+bf16"):
                d = np.array([dtype in (r["dtype"], "fp16+bf16") for r in te])
                for name, s in pred.items():
                    sl = d & cb
                    err = float(np.mean(np.abs(s[sl] / meas[sl] - 1)))
                    rho = fsg._spearman(s[sl], meas[sl])
                    sign = float(np.mean((s[d] < 1) == slow[d]))
                    out.setdefault((dev, dtype, name), []).append((err, rho, sign))
                out.setdefault((dev, dtype, "sign rule"), []).append(
                    (np.nan, np.nan, float(np.mean(rule[d] == slow[d])))
                )
    return out


def report(res: dict, n_rows: dict) -> list[str]:
    lines = [f"{'device':9s} {'dtype':9s} {'method':12s} {'rows':>4s} | fold-mean err  rho | sign"]
    for (dev, dtype, name), v in sorted(res.items()):
        a = np.array(v, dtype=float)
        e, r, s = (
            np.nanmean(a, axis=0)
            if not np.all(np.isnan(a[:, 0]))
            else (np.nan, np.nan, a[:, 2].mean())
        )
        lines.append(
            f"{dev:9s} {dtype:9s} {name:12s} {n_rows[(dev, dtype)]:4d} | {e:8.1%} {r:6.2f} | {s:5.0%}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    ap.add_argument("--max-rows", type=int, default=0, help="smoke runs: N random rows per device")
    args = ap.parse_args(argv)
    rows = [r for r in fsg.load_sparse24()
            if r["kernel"] == "torch-default" and r["dtype"] in ("fp16", "bf16")]  # fmt: skip
    if args.max_rows:
        per_dev = [[x for x in rows if x["device"] == dev] for dev in ("h100-sxm", "h200-sxm")]
        rng = np.random.default_rng(args.seed)
        rows = [rs[i] for rs in per_dev
                for i in sorted(rng.permutation(len(rs))[: args.max_rows])]  # fmt: skip
    fsg.add_dense_predictions(rows)
    n_rows = {}
    for r in rows:
        if fsg._mnk(r) >= fsg.CB:
            for d in (r["dtype"], "fp16+bf16"):
                n_rows[(r["device"], d)] = n_rows.get((r["device"], d), 0) + 1
    print(f"2:4 speedup, {args.folds}-fold CV grouped by shape (seed {args.seed}), "
          "compute-bound rows (m*n*k >= 2^33):")  # fmt: skip
    print("\n".join(report(cross_validate(rows, args.folds, args.seed, args.methods), n_rows)))
    return 0


if __name__ == "__main__":
    from archgym.numerics import run_pinned

    # fits on pinned floating-point code paths: the same output on every x86-64 CPU with AVX2
    code = run_pinned([__file__, *sys.argv[1:]])
    sys.exit(main() if code is None else code)
