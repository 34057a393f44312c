"""Recognising a folder of real exports: supplier, table, date style and column headings.

Everything here is a pure function of a file's first lines (read once by :func:`sniff`)
so that ``optin-analysis init`` can be tested without a terminal:

* :func:`sniff` finds the header row below any preamble (EMIS writes "Search: ..." and
  "Run date: ..." above it) and keeps a sample of rows; :func:`date_format` finds the one
  date style a column's values are written in (:mod:`.head`);
* :func:`match_headings` places each heading of a file on a canonical column, by the
  shipped mapping, by known synonyms (:mod:`.synonyms`), by closeness of wording, or by
  the values the column holds, and says how each was placed; headings it cannot place
  are reported, never guessed silently; :func:`classify` tells a patients export from an
  events export by those matches (:mod:`.headings`);
* :func:`detect_supplier` weighs the evidence for EMIS Web against SystmOne (TPP)
  (:mod:`.supplier`);
* :func:`ods_in_name` and :func:`practice_name` read a practice from a folder or file
  name (:mod:`.names`).
"""

from optin_analysis.ingest.detect.head import (
    Sniff,
    date_example,
    date_format,
    parse_date,
    sniff,
    table_date_format,
)
from optin_analysis.ingest.detect.headings import (
    Placement,
    TableMatch,
    Unplaced,
    classify,
    match_headings,
    missing_problems,
)
from optin_analysis.ingest.detect.names import ods_in_name, practice_name
from optin_analysis.ingest.detect.supplier import SupplierGuess, detect_supplier
from optin_analysis.ingest.detect.synonyms import canonical_columns, value_map

__all__ = [
    "Placement",
    "Sniff",
    "SupplierGuess",
    "TableMatch",
    "Unplaced",
    "canonical_columns",
    "classify",
    "date_example",
    "date_format",
    "detect_supplier",
    "match_headings",
    "missing_problems",
    "ods_in_name",
    "parse_date",
    "practice_name",
    "sniff",
    "table_date_format",
    "value_map",
]
