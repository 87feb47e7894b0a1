"""Malformed inputs (experiment files, flags, datasets): each gives a one-line error, none a
traceback. A traceback here is a bug: either a missing check or an exception that should have
been a :class:`~archgym.errors.UserError`."""

import itertools
import textwrap

import pytest

from archgym.cli import main
from archgym.errors import UserError
from archgym.experiment import parse_experiment

VALID = textwrap.dedent(
    """
    [experiment]
    name = "fuzz"
    budget = 5
    seeds = [0]
    workers = 1
    flush_every = 5
    batch = 1

    [env]
    id = "archgym/GemmRoofline-v0"
    kwargs = { workload = "gpt2-decode", objective = "edp" }

    [[agents]]
    name = "random_walk"
    hyperparams = { dedupe = true }
    """
)
BAD_VALUES = [
    "-1",
    "0",
    str(2**64),
    str(2**63),
    "1.5",
    '"x"',
    '"1"',
    "true",
    "[]",
    "[[]]",
    "{}",
    "{ a = 1 }",
    '[1, "a"]',
    '""',
    "inf",
    "-inf",
    "nan",
    "1e400",
]
LINES = {
    "name": 'name = "fuzz"',
    "budget": "budget = 5",
    "seeds": "seeds = [0]",
    "workers": "workers = 1",
    "flush_every": "flush_every = 5",
    "batch": "batch = 1",
    "id": 'id = "archgym/GemmRoofline-v0"',
    "workload": 'workload = "gpt2-decode"',
    "objective": 'objective = "edp"',
    "agent": 'name = "random_walk"',
    "dedupe": "dedupe = true",
}
STRUCTURE = [
    "",
    "garbage",
    "[experiment",
    'name = "unterminated',
    "\x00\x01\x02",
    "[experiment]\nbudget = 5",
    VALID.replace("[env]", "[envs]"),
    VALID.replace("[[agents]]", "[agents]"),
    VALID + "\n[[envs]]\nid = 'archgym/GemmRoofline-v0'\n",
    VALID.replace("[experiment]", "experiment = 3\n[experimentx]"),
    VALID + "\nextra = 1\n",
    VALID.replace("[env]", "[env]\nlabel = 1\nbogus = 2"),
    VALID.replace("kwargs = {", "kwargs = 3 #{"),
    VALID.replace("hyperparams = {", "hyperparams = 3 #{"),
    VALID.replace("dedupe = true", "dedupe = [true, true, 7]"),
    VALID.replace("dedupe = true", "dedup = true"),
    VALID.replace("dedupe = true", "dedupe = []"),
    VALID.replace('objective = "edp"', 'objective = { minimize = "nothing" }'),
    VALID.replace('objective = "edp"', 'objective = ["latency_s", 3]'),
    VALID.replace('workload = "gpt2-decode"', "max_pes = -5"),
    VALID.replace('workload = "gpt2-decode"', "max_pes = 1e300"),
    VALID.replace('workload = "gpt2-decode"', "max_pes = 99999999999999999999999"),
    VALID.replace('workload = "gpt2-decode"', 'unknown_kwarg = "x"'),
    VALID.replace("seeds = [0]", "seeds = [0, 0]"),
    VALID.replace("seeds = [0]", "seeds = [-1]"),
    VALID.replace("seeds = [0]", f"seeds = [{2**63}]"),
    VALID.replace('name = "fuzz"', 'name = "has space"'),
    VALID.replace('name = "fuzz"', 'name = "../escape"'),
    VALID + '\n[[agents]]\nname = "random_walk"\n',
    VALID.replace('name = "random_walk"', 'name = "nsga2"\nlabel = 3'),
]


def toml_cases():
    for (key, line), bad in itertools.product(LINES.items(), BAD_VALUES):
        yield f"{key}={bad}", VALID.replace(line, f"{line.split(' = ')[0]} = {bad}", 1)
    for i, text in enumerate(STRUCTURE):
        yield f"structure{i}", text


CASES = list(toml_cases())
#: Mutations that leave a valid experiment (a different but sound file), by label. `dedupe = 0`
#: is accepted because 0 == False in the agent's choice check (agents side).
STILL_VALID = {'name="x"', 'name="1"', "dedupe=true", "dedupe=0", "structure21"}


def test_there_are_at_least_200_malformed_inputs():
    assert len(CASES) - len(STILL_VALID) + len(CLI_CASES) >= 200


@pytest.mark.parametrize(("label", "text"), CASES, ids=[c[0] for c in CASES])
def test_malformed_experiment_files_give_one_line_errors(label, text):
    try:
        parse_experiment(text, "fuzz.toml")
    except UserError as exc:
        assert label not in STILL_VALID
        assert str(exc).startswith("fuzz.toml"), exc
        assert "\n" not in str(exc).strip(), exc
    else:  # any exception other than a UserError fails the test (a traceback)
        assert label in STILL_VALID, f"{label}: accepted silently"


def _cli_cases():
    flags = {
        "--seed": ["-1", str(2**64), "x", "1e3", ""],
        "--budget": ["0", "-3", str(2**64), "ten"],
        "--workers": ["0", "-1", "two"],
        "--dask-local": ["0", "-2", "x"],
    }
    for flag, values in flags.items():
        for v in values:
            yield ["run", flag, v]
    yield ["run", "missing.toml"]
    yield ["run", "--no-such-flag"]
    yield ["frobnicate"]
    yield ["show"]
    yield ["plot", "--pareto"]
    yield ["simulate", "-c", "missing.cfg", "-t", "missing.csv"]
    yield ["simulate", "-c", ".", "-t", "."]


CLI_CASES = list(_cli_cases())


@pytest.mark.parametrize("args", CLI_CASES, ids=[" ".join(a) for a in CLI_CASES])
def test_malformed_flags_give_one_line_errors(args, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own one-line error
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(("archgym", "usage")), err


def test_malformed_datasets_give_one_line_errors(tmp_path, capsys):
    import pandas as pd

    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"PAR1 not really")
    empty = tmp_path / "empty"
    empty.mkdir()
    foreign = tmp_path / "foreign.parquet"
    pd.DataFrame({"x": [1, 2]}).to_parquet(foreign)
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    cases = [
        ["show", str(tmp_path / "missing")],
        ["show", str(junk)],
        ["show", str(empty)],
        ["show", str(foreign)],
        ["plot", str(foreign)],
        ["plot", str(junk)],
        ["plot", str(empty), "--out", str(a_file)],
        ["run", "--out", str(a_file)],
        ["run", str(a_file)],
        ["run", str(empty)],
    ]
    for args in cases:
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("archgym: error: ") and err.count("\n") == 1, (args, err)
