"""Hostile or odd input through the command line: identifiers that look like spreadsheet
formulas, a codelist row with a trailing space, Rich markup in names and codes."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import openpyxl
import yaml
from typer.testing import CliRunner

from optin_analysis.ingest.adapters import MAPPING_DIR
from optin_analysis.ingest.codelist import DEFAULT_CODELIST
from optin_analysis.run.cli import app
from tests.fault.helpers import PERIOD, make_sample

runner = CliRunner()
PREFIXES = "=+-@"


def _formula_ids(folder: Path) -> None:
    """Give every patient id of the extracts in ``folder`` a formula-like first character."""

    def swap(match: re.Match) -> bytes:
        return PREFIXES[int(match.group(2)) % 4].encode() + match.group(0)

    for path in folder.glob("*/*.csv"):
        path.write_bytes(re.sub(rb"SYN-(Y9\d{4})-(\d{7})", swap, path.read_bytes()))


def test_formula_looking_ids_are_neutralised_in_csv_and_xlsx(tmp_path):
    config = make_sample(tmp_path / "sample", practices=2, patients=600)
    _formula_ids(config.parent)
    result = runner.invoke(app, ["worklists", "-c", str(config), "-p", PERIOD])
    assert result.exit_code == 0, result.output

    lists = config.parent / "worklists" / PERIOD
    ids = []
    for path in lists.glob("*/*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            ids += [row["patient_id"] for row in csv.DictReader(handle)]
    assert ids and all(i[0] == "'" and i[1] in PREFIXES and "SYN-" in i for i in ids)

    cells = []
    for path in lists.glob("*/worklists.xlsx"):
        for sheet in openpyxl.load_workbook(path).worksheets:
            cells += [row[0] for row in sheet.iter_rows(min_row=3)]  # 1: who acts; 2: headings
    assert len(cells) == len(ids)
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)  # text, never formulas
    assert all(c.value[0] in PREFIXES and c.value[1:4] == "SYN" for c in cells)  # readable


def _codelist_with(tmp_path: Path, extra_row: str) -> Path:
    path = tmp_path / "codelist.csv"
    shutil.copyfile(DEFAULT_CODELIST, path)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(extra_row + "\n")
    return path


def test_a_codelist_code_with_a_trailing_space_is_refused_not_read_as_a_new_code(tmp_path):
    codelist = _codelist_with(
        tmp_path, "LOCAL-OPTIN-REQ ,Patient declined online access,opt_out,placeholder,local"
    )
    config = make_sample(tmp_path / "sample", practices=1, patients=300, codelist=str(codelist))
    rows = len(codelist.read_text(encoding="utf-8").splitlines())

    for command in (["measures", "-c", str(config), "-p", PERIOD], ["validate", str(config)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert (
            f"ERROR: codelist.csv, row {rows}, column 'code': code 'LOCAL-OPTIN-REQ' listed twice"
            in result.output
        )


def _with_mapping(config: Path, edit) -> Path:
    """Point the first practice at a copy of its supplier's mapping, changed by ``edit``."""
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    practice = raw["practices"][0]
    shipped = (MAPPING_DIR / f"mapping-{practice['supplier']}.yaml").read_text(encoding="utf-8")
    mapping = config.parent / "my-mapping.yaml"
    mapping.write_text(edit(shipped), encoding="utf-8")
    practice["mapping"] = str(mapping)
    config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return mapping


def test_mapping_values_are_trimmed_and_checked_with_the_line_named(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=300)
    before = runner.invoke(app, ["measures", "-c", str(config), "-p", PERIOD]).output

    # Spaces around a heading or a coded value read as without them: the same figures.
    mapping = _with_mapping(
        config,
        lambda text: text.replace("Record Access:", "Record Access  :").replace(
            '    access_level:\n      "": none', '    access_level:\n      "  ": none'
        ),
    )
    result = runner.invoke(app, ["measures", "-c", str(config), "-p", PERIOD])
    assert result.exit_code == 0, result.output
    assert result.output == before

    # A value twice once trimmed, or mapped to a level that does not exist: refused (exit
    # 1, like any practice's error), naming the file and the line of the offending key.
    shipped = mapping.read_text(encoding="utf-8")
    edits = {  # edit: (the line the error names, by its text; the message)
        ("Live: true", "Live: true\n      'Live ': false"): (
            "  values:", "patients.values: online_account: 'Live' and 'Live ' are the same "
            "value once surrounding spaces"),
        ("Only: summary", "Only: sumary"): (
            "      Summary Information Only: sumary", "patients.values.access_level.Summary "
            "Information Only: 'sumary' is not one of 'none', 'summary', 'detailed_coded', "
            "'full_prospective'"),
    }  # fmt: skip
    for (old, new), (named, message) in edits.items():
        lines = shipped.replace(old, new).splitlines()
        mapping.write_text("\n".join(lines), encoding="utf-8")
        result = runner.invoke(app, ["validate", str(config)])
        assert result.exit_code == 1, result.output
        line = lines.index(named) + 1
        assert f"my-mapping.yaml: invalid mapping file: line {line}, {message}" in result.output


def _named(config: Path, name: str) -> None:
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["practices"][0]["name"] = name
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")


NAME = "Dr Smith [branch surgery] [/red]"


def test_markup_in_names_and_codes_prints_literally_in_validate(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=300)
    _named(config, NAME)
    events = next(config.parent.glob("*/events.csv"))
    text = events.read_text(encoding="cp1252")
    events.write_text(text.replace("LOCAL-OPTIN-REQ", "[/red]", 1), encoding="cp1252")

    result = runner.invoke(app, ["validate", str(config)])

    assert result.exit_code == 0, result.output
    assert f"✓ Y90001 {NAME}:" in result.output
    assert "code [/red] is not in the codelist" in result.output


def test_markup_in_a_name_and_the_suppressed_mark_print_literally_in_run(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=300)
    _named(config, NAME)

    result = runner.invoke(app, ["run", "-c", str(config), "-p", PERIOD, "--jobs", "1"])

    assert result.exit_code == 0, result.output
    assert all(part in result.output for part in ("Dr Smith", "[branch", "surgery]", "[/red]"))
    assert "[c]" in result.output  # small counts are suppressed, and shown as [c]
    assert "ICB roll-up:" in result.output  # the run went on to the roll-up
