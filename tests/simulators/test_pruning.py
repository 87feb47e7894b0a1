"""Tests of magnitude pruning to N:M / V:N:M and the pattern checker (simulators/pruning.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from archgym.simulators.pruning import (
    check_pattern,
    nm_mask,
    patterns_satisfied,
    prune,
    pruning_mask,
    venom_mask,
)
from archgym.simulators.sparse import Pattern
from hypothesis import given, settings
from hypothesis import strategies as st


def _brute_force_nm(w: np.ndarray, n: int, m: int) -> np.ndarray:
    """Per group of m along K, the n-subset with the largest magnitude sum (first on ties)."""
    mask = np.zeros(w.shape, dtype=bool)
    for g in range(w.shape[0] // m):
        for c in range(w.shape[1]):
            col = np.abs(w[g * m : (g + 1) * m, c])
            best = max(itertools.combinations(range(m), n), key=lambda s: col[list(s)].sum())
            mask[g * m + np.array(best), c] = True
    return mask


@pytest.mark.parametrize(("n", "m"), [(2, 4), (1, 4), (2, 8), (1, 2), (3, 8)])
def test_nm_mask_keeps_the_largest_magnitudes(n, m):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4 * m, 7))  # continuous values: no ties
    mask = nm_mask(w, n, m)
    np.testing.assert_array_equal(mask, _brute_force_nm(w, n, m))
    assert mask.sum() == w.size * n // m


def test_axis_1_is_the_transpose():
    w = np.random.default_rng(1).standard_normal((6, 16))  # [N, K]
    np.testing.assert_array_equal(nm_mask(w, 2, 4, axis=1), nm_mask(w.T, 2, 4).T)


def test_venom_mask_has_the_pattern_and_density():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((64, 128))
    for v, m in [(64, 8), (32, 16), (128, 8)]:
        mask = venom_mask(w, v, 2, m)
        pruned = np.where(mask, w, 0.0)
        assert check_pattern(pruned, Pattern(2, m, v))
        assert mask.mean() == 2 / m
        # Each block of v columns uses at most 4 positions of every m.
        used = mask.reshape(64 // m, m, 128 // v, v).any(axis=3).sum(axis=1)
        assert used.max() <= 4


def test_venom_mask_keeps_more_magnitude_than_a_random_selection():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((32, 64)) * rng.uniform(0.1, 3, size=(32, 1))  # rows of different scale
    kept = np.abs(w[venom_mask(w, 16, 2, 8)]).sum()
    random_sel = []
    for seed in range(20):
        perm = np.random.default_rng(seed).permuted(np.tile(np.arange(8), (4, 1)), axis=1)[:, :2]
        mask = np.zeros((4, 8), dtype=bool)
        np.put_along_axis(mask, perm, True, axis=1)
        full = np.repeat(mask.reshape(32, 1), 64, axis=1)
        random_sel.append(np.abs(w[full]).sum())
    assert kept > max(random_sel)


def test_checker_finds_the_patterns_a_matrix_has():
    w = np.zeros((8, 2))
    w[0, 0] = w[5, 0] = 1.0  # column 0: one per 4, two per 8
    w[2, 1] = 1.0
    found = [str(p) for p in patterns_satisfied(w, ["2:4", "1:4", "2:8", "1:8", "1:2"])]
    assert found == ["1:4", "2:8", "1:2", "2:4"]  # sparsest first, then by name
    assert not check_pattern(w, "1:8")
    assert check_pattern(w, "dense")
    assert not check_pattern(np.ones((6, 2)), "2:4")  # K not a multiple of 4


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match=r"K=6 must be a multiple of M=4"):
        nm_mask(np.ones((6, 2)), 2, 4)
    with pytest.raises(ValueError, match=r"`n <= m` must hold"):
        nm_mask(np.ones((8, 2)), 5, 4)
    with pytest.raises(ValueError, match=r"N=10 columns must be a multiple of V=4"):
        venom_mask(np.ones((8, 10)), 4, 2, 8)
    with pytest.raises(ValueError, match=r"must be a 2-D matrix"):
        prune(np.ones(8), "2:4")


@settings(max_examples=50, deadline=None)
@given(
    groups=st.integers(1, 8),
    cols=st.integers(1, 8),
    pattern=st.sampled_from(["1:2", "2:4", "1:4", "2:8", "4:8", "1:16"]),
    seed=st.integers(0, 2**31),
)
def test_pruned_matrices_satisfy_their_pattern(groups, cols, pattern, seed):
    m = int(pattern.split(":")[1])
    w = np.random.default_rng(seed).integers(-3, 4, size=(groups * m, cols)).astype(float)
    pruned = prune(w, pattern)
    assert check_pattern(pruned, pattern)
    # Pruning only zeroes values, and a pruned matrix is a fixed point.
    assert np.all((pruned == w) | (pruned == 0))
    np.testing.assert_array_equal(prune(pruned, pattern), pruned)
    # Magnitude kept is at least that of the brute-force optimum (ties may pick others).
    n = int(pattern.split(":")[0])
    best = np.abs(w[_brute_force_nm(w, n, m)]).sum()
    assert np.abs(pruned).sum() == pytest.approx(best)
    assert pruning_mask(w, "dense").all()
