"""Both row readers (files and SQL) check their shared reading options the same way."""

import pytest

from skbigreg.io import read_files, read_sql

duckdb = pytest.importorskip("duckdb")


def _readers(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT range AS x, 2 * range AS y FROM range(5)")
    path = tmp_path / "t.csv"
    path.write_text("x,y\n0,0\n1,2\n")
    return [lambda **kw: read_files(path, target="y", **kw),
            lambda **kw: read_sql("t", con, target="y", **kw)]


@pytest.mark.parametrize("options, message", [
    ({"missing": "ignore"}, "missing must be 'raise' or 'drop', got 'ignore'"),
    ({"batch_rows": 0}, "batch_rows must be a positive integer, got 0"),
])
def test_readers_refuse_bad_options_naming_them(tmp_path, options, message):
    for read in _readers(tmp_path):
        with pytest.raises(ValueError, match=message):
            read(**options)


def test_readers_take_batch_rows_as_an_integer(tmp_path):
    for read in _readers(tmp_path):
        assert read(batch_rows=2.0).batch_rows == 2
