"""The run lock: one run per reports folder, its holder named, a dead holder's lock free."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from optin_analysis.run import lock


@pytest.fixture(autouse=True)
def _released():
    yield
    lock.release_all()


def _hold_in_child(folder) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from optin_analysis.run import lock; "
         "lock.acquire(Path(sys.argv[1])); print('held', flush=True); time.sleep(60)",
         str(folder)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout.readline().strip() == "held"
    return child


def test_the_lock_file_names_its_holder(tmp_path):
    lock.acquire(tmp_path / "reports")
    owner = json.loads((tmp_path / "reports" / lock.LOCK_FILE).read_text())
    assert owner["pid"] == os.getpid() and owner["started"]


def test_a_second_process_is_refused_with_the_holder_and_its_start(tmp_path):
    child = _hold_in_child(tmp_path)
    try:
        with pytest.raises(lock.LockError) as info:
            lock.acquire(tmp_path)
    finally:
        child.kill()
        child.wait()
    started = lock.holder(tmp_path)["started"]
    assert str(info.value).startswith(f"another run (pid {child.pid}, started {started}) is")
    assert f"is writing {tmp_path}" in str(info.value)


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path):
    child = _hold_in_child(tmp_path)
    child.kill()  # as kill -9: no clean-up of any kind
    child.wait()
    lock.acquire(tmp_path)
    assert lock.holder(tmp_path)["pid"] == os.getpid()


def test_the_same_process_may_take_it_again_and_keeps_it_until_the_last_release(tmp_path):
    lock.acquire(tmp_path)
    lock.acquire(tmp_path)
    lock.release(tmp_path)
    child = subprocess.run(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from optin_analysis.run import lock; "
         "lock.acquire(Path(sys.argv[1]))", str(tmp_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert child.returncode != 0 and "LockError" in child.stderr
    lock.release(tmp_path)
    lock.acquire(tmp_path)  # free again


def test_a_folder_that_cannot_be_created_is_a_lock_error(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(lock.LockError, match="cannot write in the reports folder"):
        lock.acquire(tmp_path / "file" / "reports")
