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
