"""Issue 28: one exit path for the operating system's refusals and for Ctrl-C in every command
(vise_lib.tools.guard): one line naming the path and what to do, never a traceback."""

import errno
import os
import subprocess
import sys

import pytest

from vise_lib import io
from vise_lib.run.pipeline import notebook_os_error
from vise_lib.tools import INTERRUPTED, guard


def _raise(e):
    def fn():
        raise e

    return fn


@pytest.mark.parametrize(
    "code, advice",
    [(errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only"), (errno.EACCES, "permission denied")],
)
def test_disk_full_read_only_and_permission_are_one_line_naming_the_path(code, advice, capsys):
    rc = guard("vise run", _raise(OSError(code, os.strerror(code), "/data/out/runs/x/scores.csv")))
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert err.startswith("vise run: error: /data/out/runs/x/scores.csv: ") and advice in err


def test_ctrl_c_is_one_line_that_says_the_command_resumes(capsys):
    rc = guard("vise train", _raise(KeyboardInterrupt()))
    err = capsys.readouterr().err.strip()
    assert rc == INTERRUPTED and "\n" not in err and "interrupted" in err and "resume" in err


def test_bad_input_and_failed_stages_keep_their_exits(capsys):
    assert guard("vise", _raise(ValueError("bad row 3"))) == 2
    assert guard("vise", _raise(FileNotFoundError("x.csv is missing"))) == 2
    assert guard("vise", _raise(RuntimeError("stage 03 failed"))) == 1
    assert capsys.readouterr().err.splitlines() == [
        "vise: error: bad row 3",
        "vise: error: x.csv is missing",
        "vise: error: stage 03 failed",
    ]


def test_a_short_write_is_named_and_called_disk_full_when_the_disk_is_full(tmp_path, monkeypatch):
    """The fault: `OSError: 9600 requested and 9184 written`, naming no path."""

    def short_write(f):
        raise OSError("9600 requested and 9184 written")

    with pytest.raises(OSError) as e:
        io.atomic_write(tmp_path / "a.npy", short_write)
    assert str(tmp_path / "a.npy") in str(e.value)  # a disk with room: named, errno unknown
    full = os.statvfs_result((4096, 4096, 100, 0, 0, 100, 0, 0, 0, 255))
    monkeypatch.setattr(io.os, "statvfs", lambda p: full)
    with pytest.raises(OSError) as e:
        io.atomic_write(tmp_path / "b.npy", short_write)
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(tmp_path / "b.npy")
    assert not list(tmp_path.glob(".*.tmp"))  # no temp file left


def test_an_os_error_inside_a_stage_notebook_comes_back_as_itself():
    e = notebook_os_error("OSError", "[Errno 28] No space left on device: '/o/runs/smoke/world/images.npy'")
    assert e is not None and e.errno == errno.ENOSPC and e.filename == "/o/runs/smoke/world/images.npy"
    assert notebook_os_error("PermissionError", "[Errno 13] Permission denied").errno == errno.EACCES
    assert notebook_os_error("ValueError", "[Errno 28] looks like one") is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux /sys, which no one may write")
def test_vise_run_on_a_folder_it_cannot_write_is_one_line_exit_2(tmp_path):
    """A read-only --out gave a 26-50 line traceback; now one line naming the path."""
    out = "/sys/vise-cannot-write-here"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    p = subprocess.run(
        [sys.executable, "-m", "vise_lib.run.cli", "run", "--preset", "smoke", "--out", out, "--no-book"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vise: error: /sys/vise-cannot-write-here") and "--out" in lines[0]
