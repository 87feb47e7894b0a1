"""The one GEMM type at the bottom of the arrows, and its SCALE-Sim row conversion."""

import numpy as np
import pytest
from archgym.simulators.shapes import GemmShape
from archgym.simulators.systolic.layers import GemmLayer


def test_one_gemm_type_everywhere():
    from archgym.workloads import gemms

    assert gemms.GemmShape is GemmShape
    assert all(type(g) is GemmShape for g in gemms.transformer_gemms("gpt2", 8))


def test_gemm_checks_and_counts():
    g = GemmShape("proj", 4, 5, 6, count=3)
    assert g.mnk == (4, 5, 6)
    assert g.macs == 4 * 5 * 6 * 3
    with pytest.raises(ValueError, match="`k` of GEMM 'bad' must be a positive integer"):
        GemmShape("bad", 4, 5, 0)
    with pytest.raises(ValueError, match="`count`"):
        GemmShape("bad", 4, 5, 6, count=True)


def test_gemm_layer_round_trip():
    g = GemmShape("ffn", 128, 3072, 768, count=12)
    layer = GemmLayer.from_gemm(g)
    assert (layer.M, layer.N, layer.K, layer.name) == (128, 3072, 768, "ffn")
    assert layer.to_gemm(count=12) == g
    assert GemmLayer(np.int64(2), 3, 4, name="x").to_gemm() == GemmShape("x", 2, 3, 4)


def test_systolic_env_weighs_a_gemm_by_its_count():
    from archgym.envs.systolic import workload_layers

    layers, counts = workload_layers([GemmShape("a", 16, 16, 16, count=5)])
    assert layers == (GemmLayer(16, 16, 16, name="a"),)
    assert counts.tolist() == [5]
