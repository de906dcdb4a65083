"""`rl.data.jsonl`: strict reading names the line, tolerant reading counts torn lines, writing is whole or nothing."""

import pytest

from rl.data.jsonl import read_jsonl, read_jsonl_tolerant, write_jsonl


def test_written_records_read_back_strictly_and_tolerantly(tmp_path):
    path = tmp_path / "x.jsonl"
    write_jsonl(path, [{"a": 1}, [2, 3]])
    assert read_jsonl(path) == [(1, {"a": 1}), (2, [2, 3])]
    assert read_jsonl_tolerant(path) == ([{"a": 1}, [2, 3]], 0)
    assert not (tmp_path / "x.jsonl.tmp").exists()


def test_a_torn_line_is_an_error_with_its_number_or_a_count(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2\n')
    with pytest.raises(ValueError, match=r"^line 3 is not JSON"):
        read_jsonl(path)
    assert read_jsonl_tolerant(path) == ([{"a": 1}], 1)
