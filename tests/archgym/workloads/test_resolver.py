"""One resolver for every workload spec, and the envs that take model files as ``workload=``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from archgym.simulators.systolic.layers import ConvLayer

import archgym
from archgym.errors import UserError
from archgym.workloads import (
    get_workload,
    list_workloads,
    parse_spec,
    resolve_workload,
    workload_family,
)
from archgym.workloads.gemms import GemmShape
from archgym.workloads.networks import WORKLOADS as NETWORKS

MODELS = Path(__file__).parents[2] / "data" / "models"
LLAMA = MODELS / "llama3-8b.json"


@pytest.fixture(scope="module")
def cnn_path(tmp_path_factory) -> Path:
    pytest.importorskip("onnx")
    import onnx

    from .onnx_models import small_cnn

    path = tmp_path_factory.mktemp("onnx") / "small_cnn.onnx"
    onnx.save(small_cnn()[0], str(path))
    return path


def test_built_in_names_are_unchanged():
    assert get_workload("resnet18") == NETWORKS["resnet18"]()
    assert workload_family("bert-base") == "gemms"
    assert "alexnet" in list_workloads("networks")
    w = resolve_workload("llama2-7b-decode")
    assert w.attention_flops > 0 and w.weight_flops > 0


def test_options_as_query_mapping_or_keywords_agree():
    by_query = resolve_workload(f"{LLAMA}?phase=decode&batch=4&context=512")
    by_mapping = resolve_workload(
        {"path": str(LLAMA), "phase": "decode", "batch": 4, "context": 512}
    )
    by_kwargs = resolve_workload(LLAMA, phase="decode", batch=4, context=512)
    assert by_query.entries == by_mapping.entries == by_kwargs.entries
    assert by_query.notes["batch"] == 4


@pytest.mark.parametrize(
    ("spec", "kwargs", "message"),
    [
        ("resnt18", {}, "unknown workload 'resnt18'; did you mean 'resnet18'"),
        ("resnet18", {"batch": 2}, "is built in; options"),
        ("missing/model.onnx", {}, "no such file"),
        (f"{LLAMA}?phase=verify", {}, "`phase` must be 'prefill' or 'decode'"),
        (f"{LLAMA}?tokenz=3", {}, "unknown option 'tokenz'"),
        (f"{LLAMA}?batch=2", {"batch": 3}, "given both in the spec and as arguments"),
        ({"path": str(LLAMA), "name": "x"}, {}, "exactly one of 'path' or 'name'"),
    ],
)
def test_bad_specs_are_one_line_errors(spec, kwargs, message):
    with pytest.raises(UserError, match=message) as info:
        resolve_workload(spec, **kwargs)
    assert "\n" not in str(info.value)


def test_model_files_resolve_to_the_forms_the_envs_use(cnn_path, tmp_path):
    gemms = get_workload(LLAMA, tokens=128)
    assert workload_family(str(LLAMA)) == "gemms"
    assert all(isinstance(g, GemmShape) for g in gemms)
    layers = get_workload(cnn_path, batch=2)
    assert workload_family(str(cnn_path)) == "networks"
    assert sum(isinstance(x, ConvLayer) for x in layers) == 2 * 7  # 3 convs + 4 groups, x2
    from archgym.simulators.systolic.io import write_topology

    topo = tmp_path / "topo.csv"
    write_topology(topo, list(get_workload("resnet18")))
    assert resolve_workload(topo).weight_flops == resolve_workload("resnet18").weight_flops


def _evaluate(env_id: str, workload: str) -> list:
    env = archgym.make(env_id, workload=workload)
    rng = np.random.default_rng(0)
    results = [env.evaluate(env.space.sample(rng)) for _ in range(6)]
    return [r for r in results if r.feasible]


@pytest.mark.parametrize("env_id", ["archgym/SystolicArray-v0", "archgym/SparseTensorCore-v0"])
def test_layer_envs_evaluate_a_config_json_and_an_onnx_file(env_id, cnn_path):
    for spec in (f"{MODELS / 'gpt2.json'}?tokens=128", str(cnn_path)):
        feasible = _evaluate(env_id, spec)
        assert feasible, f"no feasible design on {spec}"
        assert all(r.metrics["cycles"] > 0 and np.isfinite(r.reward) for r in feasible)


def test_gemm_roofline_env_evaluates_a_config_json():
    feasible = _evaluate("archgym/GemmRoofline-v0", f"{LLAMA}?phase=decode&batch=8")
    assert feasible and all(r.metrics["latency_s"] > 0 for r in feasible)


def test_gemm_roofline_env_evaluates_an_all_gemm_onnx_file(tmp_path):
    pytest.importorskip("onnx")
    import onnx

    from .onnx_models import attention_block

    path = tmp_path / "block.onnx"
    onnx.save(attention_block(), str(path))
    spec = f"{path}?tokens=16&batch=2"
    assert workload_family(spec) == "gemms"
    feasible = _evaluate("archgym/GemmRoofline-v0", spec)
    assert feasible and all(r.metrics["latency_s"] > 0 for r in feasible)


def test_parse_spec_keeps_paths_with_question_marks_out_of_built_ins():
    target, opts = parse_spec("model.onnx?batch=2")
    assert target == "model.onnx" and opts.batch == 2


def test_an_experiment_toml_names_a_config_json_as_its_workload(tmp_path):
    from archgym.dataset import load
    from archgym.experiment import load_experiment, run_experiment

    toml = tmp_path / "byom.toml"
    toml.write_text(
        '[experiment]\nname = "byom"\nbudget = 3\nseeds = 1\nworkers = 1\n\n'
        '[env]\nid = "archgym/SystolicArray-v0"\n'
        f'kwargs = {{ workload = "{MODELS / "gpt2.json"}?phase=decode&batch=4" }}\n\n'
        '[[agents]]\nname = "random_walk"\n'
    )
    dataset = run_experiment(load_experiment(toml), tmp_path / "run", show_progress=False)
    assert len(load(dataset)) == 3
