"""What leaves the practice and what stays, enforced by path: worklists (patient
identifiers) never under the reports folder (for the ICB), never written through a
symbolic link nor outside the worklists folder. Each arrangement that would break it is
refused, naming the settings or the link, before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from optin_analysis.run.cli import app
from tests.fault.helpers import PERIOD, make_sample, published

runner = CliRunner()

#: Overlapping folders: (configuration settings, symbolic links to make: link -> target).
OVERLAPS = {
    "worklists inside reports": ({"worklists_dir": "reports/internal"}, {}),
    "worklists are the reports": ({"worklists_dir": "reports"}, {}),
    "reports inside worklists": ({"reports_dir": "worklists/outgoing"}, {}),
    "one folder for both": ({"reports_dir": "out", "worklists_dir": "out"}, {}),
    "worklists linked into reports": ({"worklists_dir": "wl"}, {"wl": "reports/internal"}),
    "reports linked into worklists": ({"reports_dir": "outgoing"}, {"outgoing": "worklists/out"}),
}


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def _link(config: Path, link: str, target: str) -> None:
    (config.parent / target).mkdir(parents=True)
    (config.parent / link).symlink_to(config.parent / target)


@pytest.mark.parametrize(("settings", "links"), OVERLAPS.values(), ids=list(OVERLAPS))
def test_overlapping_reports_and_worklists_folders_are_refused(tmp_path, settings, links):
    config = make_sample(tmp_path / "sample", practices=1, patients=200, **settings)
    for link, target in links.items():
        _link(config, link, target)
    before = _files(config.parent)

    for command in (["validate", str(config)], ["run", "-c", str(config), "-p", PERIOD]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert "reports_dir" in result.output and "worklists_dir" in result.output
        assert "worklists carry patient identifiers" in result.output
    assert _files(config.parent) == before  # nothing written


def test_worklists_out_under_the_reports_folder_is_refused(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    out = config.parent / "reports" / "lists"

    result = runner.invoke(app, ["worklists", "-c", str(config), "-p", PERIOD, "--out", str(out)])

    assert result.exit_code == 2, result.output
    assert f"--out ({out}) is inside reports_dir" in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("linked", "command"),
    [
        (f"worklists/{PERIOD}", ["run", "--jobs", "1", "--no-pdf"]),
        (f"worklists/{PERIOD}/Y90001", ["worklists"]),
        (f"worklists/{PERIOD}/Y90001/reports",
         ["report", "--jobs", "1", "--audience", "practice", "--no-pdf"]),
    ],
    ids=["period", "practice", "practice's own reports"],
)  # fmt: skip
def test_a_symbolic_link_in_the_worklists_folder_is_refused_naming_it(tmp_path, linked, command):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = config.parent / linked
    link.parent.mkdir(parents=True)
    link.symlink_to(elsewhere)

    name, *options = command
    result = runner.invoke(app, [name, "-c", str(config), "-p", PERIOD, *options])

    assert result.exit_code == 2, result.output
    assert f"cannot write {link}: a symbolic link (to {elsewhere})" in result.output
    assert list(elsewhere.iterdir()) == []  # nothing written through the link
    assert published(config) == {}


def test_a_linked_practice_reports_folder_is_replaced_and_the_link_removed(tmp_path):
    config = make_sample(tmp_path / "sample", practices=1, patients=200)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not ours", encoding="utf-8")
    link = config.parent / "reports" / PERIOD / "Y90001"
    link.parent.mkdir(parents=True)
    link.symlink_to(elsewhere)

    result = runner.invoke(app, ["report", "-c", str(config), "-p", PERIOD, "--jobs", "1",
                                 "--no-pdf"])  # fmt: skip

    assert result.exit_code == 0, result.output
    assert not link.is_symlink() and (link / "summary.json").is_file()
    assert [p.name for p in elsewhere.iterdir()] == ["keep.txt"]  # the target untouched
    assert list(link.parent.glob(".*")) == []  # no hidden leftover of the old link
