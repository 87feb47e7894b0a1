"""Shared bottom helpers of archgym.simulators.common."""

from __future__ import annotations

import pytest
from archgym.simulators.common import UserError, read_json


def test_read_json_returns_the_value(tmp_path) -> None:
    path = tmp_path / "ok.json"
    path.write_text('{"a": [1, 2]}')
    assert read_json(path) == {"a": [1, 2]}
    assert read_json(str(path)) == {"a": [1, 2]}


def test_read_json_errors_name_the_file_and_line(tmp_path) -> None:
    with pytest.raises(UserError, match=r"missing\.json: no such file$"):
        read_json(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "a": 1,\n  oops\n}')
    with pytest.raises(UserError, match=r"bad\.json:3: not valid JSON \(Expecting"):
        read_json(bad)
