"""Learning curve of a proxy: held-out error against the number of training designs.

    OMP_NUM_THREADS=1 python experiments/proxy/learning_curve.py \
        [--env archgym/SystolicArray-v0] [--env-kwargs '{"fidelity": "cycle"}'] \
        [--agent random_walk] [--agent-params '{}'] [--sizes 250,500,1000,2000,4000] \
        [--test 1000] [--metric cycles] [--models hist_gradient_boosting,random_forest] \
        [--base-env-kwargs '{"fidelity": "analytical"}'] [--out runs/proxy_learning_curve]

Training data come from any agent's search (active collection: ``--agent optuna`` gathers more
designs near the optimum), recorded by the experiment runner into ``OUT/train``; the held-out
designs are drawn uniformly at random (``random_walk``, another seed) into ``OUT/test``, minus
any design also in the training data, so every point of the curve is measured on the same
unbiased set. With ``--base-env-kwargs`` a second curve shows the multi-fidelity proxy (it learns
the correction of that cheaper variant of the env). Both datasets are reused when the script runs again with the same arguments.
Writes ``OUT/learning_curve.csv`` and ``OUT/learning_curve.png`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from archgym.cost_models.proxy import regression_report

from archgym.dataset import load
from archgym.experiment import Experiment, parse_experiment, run_experiment
from archgym.proxy import evaluate_proxy, train_proxy


def experiment(name: str, env: str, kwargs: dict, agent: str, params: dict, n: int, seed: int) -> Experiment:  # fmt: skip
    def toml(value: object) -> str:
        return json.dumps(value) if not isinstance(value, dict) else (
            "{ " + ", ".join(f"{k} = {toml(v)}" for k, v in value.items()) + " }"
        )  # fmt: skip

    text = (
        f'[experiment]\nname = "{name}"\nbudget = {n}\nseeds = [{seed}]\nflush_every = 500\n'
        f'[env]\nid = "{env}"\nkwargs = {toml(kwargs)}\n'
        f'[[agents]]\nname = "{agent}"\nhyperparams = {toml(params)}\n'
    )
    return parse_experiment(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="archgym/SystolicArray-v0")
    ap.add_argument("--env-kwargs", default='{"fidelity": "cycle"}')
    ap.add_argument("--agent", default="random_walk")
    ap.add_argument("--agent-params", default="{}")
    ap.add_argument("--sizes", default="250,500,1000,2000,4000")
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--metric", default="cycles")
    ap.add_argument("--models", default="hist_gradient_boosting,random_forest")
    ap.add_argument("--base-env-kwargs", help="JSON: also train a multi-fidelity proxy")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/proxy_learning_curve")
    args = ap.parse_args()

    kwargs = json.loads(args.env_kwargs)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    out = Path(args.out)
    train_exp = experiment(
        "lc-train", args.env, kwargs, args.agent, json.loads(args.agent_params), sizes[-1],
        args.seed,
    )  # fmt: skip
    test_exp = experiment("lc-test", args.env, kwargs, "random_walk", {}, args.test, 10_000)
    train_df = load(run_experiment(train_exp, out / "train", workers=1, show_progress=False))
    test_df = load(run_experiment(test_exp, out / "test", workers=1, show_progress=False))
    keys = [c for c in train_df.columns if c.startswith("p.")]
    seen = set(map(tuple, train_df[keys].astype(str).to_numpy()))
    test_df = test_df[[tuple(r) not in seen for r in test_df[keys].astype(str).to_numpy()]]

    variants: dict[str, dict | None] = {"plain": None}
    if args.base_env_kwargs:
        variants["multi-fidelity"] = json.loads(args.base_env_kwargs)
    rows = []
    header = f"{'proxy':15s} {'n_train':>8s} {'model':24s} {'rel_rmse':>9s} {'mape':>8s} {'r2':>8s}"
    print(f"{args.env} {kwargs}, {args.metric}; training data from {args.agent!r}")
    print(f"held-out: {len(test_df)} uniformly random designs not in the training data\n{header}")
    for variant, base in variants.items():
        for n in sizes:
            model, _ = train_proxy(
                train_df, args.env, [args.metric], env_kwargs=kwargs, test_fraction=0.0,
                max_train=n, candidates=args.models.split(","), seed=args.seed,
                base_env_kwargs=base,
            )  # fmt: skip
            r = evaluate_proxy(model, test_df, env_id=None)["metrics"][args.metric]
            n_used = model.header["n_train"]
            rows.append((variant, n_used, r["model"], r["rel_rmse"], r["mape"], r["r2"]))
            print(f"{variant:15s} {n_used:8d} {r['model']:24s} {100 * r['rel_rmse']:8.2f}% "
                  f"{100 * r['mape']:7.2f}% {r['r2']:8.4f}")  # fmt: skip

    base_only = None
    if args.base_env_kwargs:
        # The base model alone, as a reference line: what the proxy has to correct.
        import archgym
        from archgym.proxy import base_values, designs_of

        base_env = archgym.make(args.env, **{**kwargs, **variants["multi-fidelity"]})
        ok = test_df["feasible"].astype(bool).to_numpy()
        designs = designs_of(test_df[ok], base_env.space)
        guess = base_values(base_env, designs, [args.metric])[args.metric]
        base_only = regression_report(test_df.loc[ok, f"m.{args.metric}"].to_numpy(), guess)
        print(f"base model {variants['multi-fidelity']} alone: rel_rmse "
              f"{100 * base_only['rel_rmse']:.2f}%, MAPE {100 * base_only['mape']:.2f}%")  # fmt: skip

    out.mkdir(parents=True, exist_ok=True)
    with (out / "learning_curve.csv").open("w") as f:
        f.write("proxy,n_train,model,rel_rmse,mape,r2\n")
        f.writelines(f"{v},{n},{m},{e:.6g},{a:.6g},{r2:.6g}\n" for v, n, m, e, a, r2 in rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for variant in variants:
        pts = [r for r in rows if r[0] == variant]
        ns = [r[1] for r in pts]
        ax.loglog(ns, [100 * r[3] for r in pts], "o-", label=f"{variant}: relative RMSE")
        ax.loglog(ns, [100 * r[4] for r in pts], "s--", label=f"{variant}: MAPE")
    if base_only is not None:
        ax.axhline(100 * base_only["rel_rmse"], color="k", lw=0.8, ls="-.",
                   label="base model alone: relative RMSE")  # fmt: skip
    ax.axhline(2.0, color="grey", lw=0.8, ls=":", label="2% target")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel("training designs")
    ax.set_ylabel(f"held-out error of {args.metric} (%)")
    ax.set_title(f"{args.env.split('/')[-1]} proxy, data from {args.agent}", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "learning_curve.png", dpi=120)
    print(f"wrote {out / 'learning_curve.csv'} and {out / 'learning_curve.png'}")


if __name__ == "__main__":
    main()
