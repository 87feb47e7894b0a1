"""`archgym proxy train` works on a dataset from every env, constrained spaces included.

The env's keywords come from the dataset itself (each record stores them), so the proxy rebuilds
exactly the env that made the records; a named constraint (an area budget) round-trips.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("sklearn")

from archgym.cli import main

ENVS = {
    "roofline": ("archgym/GemmRoofline-v0", {"workload": "bert-base", "max_pes": 4096}),
    "systolic": ("archgym/SystolicArray-v0", {"workload": "alexnet", "max_area_mm2": 4.0}),
    "sparse": ("archgym/SparseTensorCore-v0", {"workload": "alexnet", "max_area_mm2": 6.0}),
    "gpu": ("archgym/GPUGemmTiling-v0", {"m": 2048, "n": 1024, "k": 4096}),
    "scratchpad": ("archgym/ScratchpadSize-v0", {"method": "belady"}),
}


def _toml(env_id: str, kwargs: dict) -> str:
    table = ", ".join(f"{k} = {json.dumps(v)}" for k, v in kwargs.items())
    return (
        '[experiment]\nname = "proxy-every-env"\nbudget = 60\nseeds = [0]\n\n'
        f'[env]\nid = "{env_id}"\nkwargs = {{ {table} }}\n\n[[agents]]\nname = "random_walk"\n'
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ENVS))
def test_proxy_trains_from_the_dataset_alone(name, tmp_path, capsys):
    env_id, kwargs = ENVS[name]
    (tmp_path / "exp.toml").write_text(_toml(env_id, kwargs))
    out = tmp_path / "run"
    assert main(["run", str(tmp_path / "exp.toml"), "--out", str(out), "--quiet"]) == 0
    model = tmp_path / "m.proxy"
    code = main(["proxy", "train", str(out), "--env", env_id, "-o", str(model), "--folds", "2"])
    assert code == 0, capsys.readouterr().err
    assert model.exists()
    assert main(["proxy", "eval", str(model), str(out)]) == 0
