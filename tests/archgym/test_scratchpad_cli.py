"""Tests of ``archgym schedule`` and ``archgym sweep-scratchpad``."""

from __future__ import annotations

import argparse
import csv
import json

import pytest
from archgym.simulators.scratchpad.graph import Graph

from archgym.commands.scratchpad import parse_bytes, parse_sizes, register
from archgym.errors import UserError

GRAPH = {
    "name": "tiny",
    "tensors": {
        "x": {"bytes": 10},
        "L": {"bytes": 150},
        "A": {"bytes": 60},
        "B": {"bytes": 60},
        "w": {"bytes": 90},
        "h": {"bytes": 10},
        "a2": {"bytes": 1},
        "b2": {"bytes": 1},
        "out": {"bytes": 1},
    },
    "ops": [
        {"name": "make", "inputs": ["x"], "outputs": ["L", "A", "B"]},
        {"name": "work", "inputs": ["w"], "outputs": ["h"]},
        {"name": "useA", "inputs": ["A", "h"], "outputs": ["a2"]},
        {"name": "useB", "inputs": ["B", "a2"], "outputs": ["b2"]},
        {"name": "useL", "inputs": ["L", "b2"], "outputs": ["out"]},
    ],
    "inputs": ["x"],
    "outputs": ["out"],
}


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="archgym")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def graph_file(tmp_path):
    path = tmp_path / "g.json"
    path.write_text(json.dumps(GRAPH))
    return str(path)


@pytest.mark.parametrize("method", ["ilp", "belady", "greedy"])
def test_schedule_json_has_the_issue_keys(graph_file, capsys, method) -> None:
    assert (
        run(["schedule", "--graph", graph_file, "--capacity", "280", "--method", method, "--json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    for key in (
        "status",
        "extra_dram_bytes",
        "compulsory_dram_bytes",
        "order",
        "spills",
        "reloads",
        "peak_bytes",
        "solve_s",
    ):
        assert key in out
    assert out["status"] in ("optimal", "feasible")
    # compulsory: x (10) + w (90) loaded once, out (1) written once
    assert out["compulsory_dram_bytes"] == 101
    assert Graph.from_dict(GRAPH).is_topological(out["order"])
    if method == "ilp":
        assert out["status"] == "optimal" and out["extra_dram_bytes"] <= 240


def test_schedule_cbc_and_text_output(graph_file, capsys) -> None:
    assert run(["schedule", "--graph", graph_file, "--capacity", "400", "--solver", "cbc"]) == 0
    text = capsys.readouterr().out
    assert "status: optimal" in text and "extra (non-compulsory) DRAM bytes: 0" in text


def test_schedule_errors_are_one_line(graph_file, tmp_path) -> None:
    with pytest.raises(UserError, match="below the footprint of op 'make'"):
        run(["schedule", "--graph", graph_file, "--capacity", "100"])
    with pytest.raises(UserError, match="below the footprint of op 'make'"):
        run(["schedule", "--graph", graph_file, "--capacity", "100", "--method", "greedy"])
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                **GRAPH,
                "inputs": [],
                "ops": GRAPH["ops"] + [{"name": "loop", "inputs": ["out"], "outputs": ["x"]}],
            }
        )
    )
    with pytest.raises(UserError, match="cycle through ops"):
        run(["schedule", "--graph", str(bad), "--capacity", "400"])
    with pytest.raises(UserError, match="cannot read the size"):
        run(["schedule", "--graph", graph_file, "--capacity", "lots"])
    with pytest.raises(UserError, match="did you mean"):
        run(["schedule", "--model", "resnet5O", "--capacity", "4MiB"])


def test_parse_sizes() -> None:
    assert parse_bytes("64KiB") == 65536 and parse_bytes("2MiB") == 2 * 2**20
    assert parse_bytes("512kB") == 512000 and parse_bytes("4096") == 4096
    assert parse_sizes("64KiB..4MiB") == [2**k * 1024 for k in range(6, 13)]
    assert parse_sizes("100..400", points=3) == [100, 200, 400]
    assert parse_sizes("300,100") == [100, 300]
    with pytest.raises(UserError, match="must not exceed"):
        parse_sizes("4MiB..64KiB")


def test_sweep_writes_table_and_plot(graph_file, tmp_path, capsys) -> None:
    out = tmp_path / "sweep"
    argv = [
        "sweep-scratchpad",
        "--graph",
        graph_file,
        "--sizes",
        "200,280,330,500",
        "--methods",
        "belady,greedy,ilp",
        "--out",
        str(out),
    ]
    assert run(argv) == 0
    with open(out / "sweep.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12 and (out / "sweep.png").stat().st_size > 0
    by = {(int(r["capacity_bytes"]), r["method"]): r for r in rows}
    assert by[200, "ilp"]["status"] == "infeasible"  # below the 280-byte footprint of make
    for size in (280, 330, 500):
        ilp = int(by[size, "ilp"]["extra_dram_bytes"])
        assert ilp <= int(by[size, "belady"]["extra_dram_bytes"])
        assert ilp <= int(by[size, "greedy"]["extra_dram_bytes"])
    assert int(by[500, "ilp"]["extra_dram_bytes"]) == 0
