"""`optin-analysis validate` as a user runs it: exit codes and messages, never a traceback."""

from __future__ import annotations

from typer.testing import CliRunner

from optin_analysis.run.cli import app
from tests.extracts import TPP_EVENTS, TPP_PATIENTS, write_practice

runner = CliRunner()


def test_good_extracts_exit_zero(tmp_path):
    config = write_practice(tmp_path, "tpp", TPP_PATIENTS, TPP_EVENTS)
    result = runner.invoke(app, ["validate", str(config)])
    assert result.exit_code == 0, result.output
    assert "2 patients" in result.output


def test_a_folder_with_a_config_is_accepted(tmp_path):
    write_practice(tmp_path, "tpp", TPP_PATIENTS, TPP_EVENTS)
    assert runner.invoke(app, ["validate", str(tmp_path)]).exit_code == 0


def test_bad_extracts_exit_one_with_file_row_and_column(tmp_path):
    body = TPP_PATIENTS.replace("12/06/1980", "31/02/1980")
    config = write_practice(tmp_path, "tpp", body, TPP_EVENTS)
    result = runner.invoke(app, ["validate", str(config)])
    assert result.exit_code == 1
    assert "patients.csv, row 2, column 'Date of birth': not a valid date" in result.output
    assert "Traceback" not in result.output


def test_bad_configuration_names_the_practice_and_key(tmp_path):
    config = write_practice(tmp_path, "tpp", TPP_PATIENTS, TPP_EVENTS)
    config.write_text(config.read_text().replace("supplier: tpp", "supplier: vision"))
    result = runner.invoke(app, ["validate", str(config)])
    assert result.exit_code == 2
    assert "practice Y90001: supplier" in result.output
    assert "Traceback" not in result.output


def test_missing_configuration_file(tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "not found" in result.output


def test_a_practice_folder_is_found_in_the_config_above_it(tmp_path):
    write_practice(tmp_path, "tpp", TPP_PATIENTS, TPP_EVENTS)
    result = runner.invoke(app, ["validate", str(tmp_path / "Y90001")])
    assert result.exit_code == 0 and "Y90001" in result.output


def test_a_folder_no_config_lists_is_refused(tmp_path):
    (tmp_path / "stray").mkdir()
    result = runner.invoke(app, ["validate", str(tmp_path / "stray")])
    assert result.exit_code == 2 and "no config.yaml" in result.output


def test_unusable_codelist_and_mapping_are_reported_not_raised(tmp_path):
    config = write_practice(tmp_path, "tpp", TPP_PATIENTS, TPP_EVENTS)
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "mapping-dir").mkdir()
    text = config.read_text()
    config.write_text("codelist: empty.csv\n" + text)
    result = runner.invoke(app, ["measures", "--config", str(config), "--period", "2026-10"])
    assert result.exit_code == 2 and "codelist" in result.output
    config.write_text(text.replace("patients: Y90001", "mapping: mapping-dir\n  patients: Y90001"))
    result = runner.invoke(app, ["validate", str(config)])
    assert result.exit_code == 1 and "cannot read the mapping file" in result.output


def test_impossible_periods_are_refused(tmp_path):
    config = write_practice(tmp_path, "tpp", TPP_PATIENTS, TPP_EVENTS)
    for period in ("0000-01", "1500-01", "2026-13", "2026-1"):
        result = runner.invoke(app, ["measures", "--config", str(config), "--period", period])
        assert result.exit_code == 2 and "YYYY-MM" in result.output, period


def test_a_folder_no_config_lists_suggests_init(tmp_path):
    (tmp_path / "exports").mkdir()
    result = runner.invoke(app, ["validate", str(tmp_path / "exports")])
    assert result.exit_code == 2
    assert f"optin-analysis init {tmp_path / 'exports'}" in " ".join(result.output.split())


def test_a_bad_date_in_the_configuration_names_its_line(tmp_path):
    config = write_practice(tmp_path, "tpp", TPP_PATIENTS, TPP_EVENTS)
    lines = config.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if "extract_date:" in line)
    lines[at] = lines[at].split(":")[0] + ": 20x6-10-31"
    config.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["validate", str(config)])
    assert result.exit_code == 2
    # the file's line (counted from 1) of the mistyped setting, then the practice and key
    assert f"line {at + 1}: practice Y90001: extract_date: " in result.output
    assert "invalid character in year" in result.output


def test_a_checklist_date_after_the_extract_is_a_warning_with_its_line(tmp_path):
    config = write_practice(tmp_path, "tpp", TPP_PATIENTS, TPP_EVENTS)
    text = config.read_text()
    assert "website_updated" not in text
    config.write_text(
        text.replace("  supplier: tpp\n", "  supplier: tpp\n  website_updated: 2027-05-01\n")
    )
    line = config.read_text().splitlines().index("  website_updated: 2027-05-01") + 1
    result = runner.invoke(app, ["validate", str(config)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert f"WARNING: config.yaml: line {line}: practice Y90001: website_updated 2027-05-01" in said
    assert "is after the extract date" in said and "1 warning(s)" in said
