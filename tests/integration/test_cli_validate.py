"""`optin-analysis validate` as a user runs it: exit codes and messages, never a traceback."""

from __future__ import annotations

from typer.testing import CliRunner

from optin_analysis.cli import app
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
