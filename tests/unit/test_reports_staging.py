"""Staging folders left by killed runs: removed, or put back when they hold the only copy."""

from __future__ import annotations

from optin_analysis.reports.notebooks import publish, remove_stale_staging


def test_stale_staging_is_removed(tmp_path):
    (tmp_path / "Y90001").mkdir()
    (tmp_path / ".Y90001.partial-abc123").mkdir()
    removed = remove_stale_staging(tmp_path)
    assert [p.name for p in removed] == [".Y90001.partial-abc123"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Y90001"]


def test_earlier_reports_caught_mid_replacement_are_put_back(tmp_path):
    # Killed between the two renames of publish(): the old set is only under its temp name.
    old = tmp_path / ".Y90001.partial-old-4242"
    old.mkdir()
    (old / "monthly-report.html").write_text("last month's good report")
    remove_stale_staging(tmp_path)
    assert (tmp_path / "Y90001" / "monthly-report.html").read_text() == "last month's good report"


def test_publish_replaces_the_whole_folder(tmp_path):
    final, stage = tmp_path / "Y90001", tmp_path / ".Y90001.partial-x"
    final.mkdir()
    (final / "old.html").write_text("old")
    stage.mkdir()
    (stage / "new.html").write_text("new")
    publish(stage, final)
    assert [p.name for p in final.iterdir()] == ["new.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Y90001"]
