"""The checks of ingest before parsing: the block search for a long line against the plain
definition (split into lines, measure each), the size check before reading, wide encodings
and column letters."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optin_analysis.config import Limits
from optin_analysis.ingest.adapters import column_letters, long_line, read_bounded, wide_encoding
from optin_analysis.problems import InputError


def plain_long_line(data: bytes, limit: int) -> tuple[int, int] | None:
    """The definition: lines end at \\n (\\r where there is none), a \\r before \\n aside."""
    if b"\n" in data:
        lines = [re.sub(rb"\r$", b"", line) for line in data.split(b"\n")]
    else:
        lines = data.split(b"\r")
    for row, line in enumerate(lines, start=1):
        if len(line) > limit:
            return row, len(line)
    return None


@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.sampled_from([b"\n", b"\r\n", b"\r", b""])),
        max_size=30,
    ),
    st.integers(1, 25),
)
def test_long_line_is_the_first_line_over_the_limit(lines, limit):
    data = b"".join(b"x" * n + end for n, end in lines)
    assert long_line(data, limit) == plain_long_line(data, limit)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a" * 8 + b"\r\n" + b"b" * 8 + b"\r\n", None),  # exactly the limit: allowed
        (b"a\r\n" + b"b" * 9 + b"\r\n", (2, 9)),
        (b"a\nb\n" + b"c" * 20, (3, 20)),  # the last line, with no line end
        (b"a\r" + b"b" * 9 + b"\r", (2, 9)),  # old Mac line ends
        (b"", None),
    ],
)
def test_long_line_cases(data, expected):
    assert long_line(data, 8) == expected


def test_read_bounded_refuses_a_file_over_the_limit_before_reading_it(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("wb") as handle:
        handle.truncate(3 * 2**20 + 1)  # sparse: no disk space
    with pytest.raises(InputError) as caught:
        read_bounded(path, Limits(file_size_mb=3))
    assert str(caught.value.problems[0]) == (
        "ERROR: big.csv: the file is 4 MB; the limit is 3 MB "
        "(limits: file_size_mb in the run configuration)"
    )
    path.write_bytes(b"x" * 3 * 2**20)
    assert len(read_bounded(path, Limits(file_size_mb=3))) == 3 * 2**20


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"])
def test_wide_encodings_are_told_by_mark_or_zero_bytes(codec):
    text = "Patient ID,Name\r\nSYN-1,Zoë Ødegård\r\n" * 20
    found = wide_encoding(text.encode(codec))
    assert found is not None and found.codec.startswith(codec[:6])
    assert text.encode(codec)[found.mark :].decode(found.codec) == text


@pytest.mark.parametrize("data", [b"Patient ID,NHS Number\r\n", "Zoë".encode("cp1252"), b""])
def test_narrow_text_is_not_wide(data):
    assert wide_encoding(data) is None


@pytest.mark.parametrize(("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"),
                                                (702, "AAA")])  # fmt: skip
def test_column_letters_as_a_spreadsheet_names_them(index, letters):
    assert column_letters(index) == letters
