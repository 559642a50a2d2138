"""Issue 28 on the pipeline: the cache does not trust a damaged results file, moving the run
folder reruns nothing, one run per folder, a failed book build leaves nothing behind, kernels
end with their stage, an empty preset is an error."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

# the miniature project of trivial notebooks (tests/run is on sys.path: pytest's prepend import mode)
from test_pipeline import _notebook, _run, _why, mini  # noqa: F401  (mini: the fixture)

from vise_lib.run.pipeline import INCOMPLETE, clear_failed_build, run
from vise_lib.run.presets import STAGES, load_preset
from vise_lib.run.run_lock import RunFolderBusy, RunLock

WRITES_SCORES = (
    "from pathlib import Path\n"
    "from vise_lib.verdicts.results import write_scores\n"
    "rows = [dict(backbone='b', task='t', pretrain_seed=s, probe_seed=0, top1=50.0) for s in range(3)]\n"
    "write_scores(Path(run_dir) / 'downstream' / 'scores.csv', rows, stage='{stage}')"
)


def test_a_truncated_results_file_makes_the_cache_rerun_its_stage_and_say_why(mini):  # noqa: F811
    down = STAGES[3].name
    _notebook(mini / "notebooks" / f"{down}.ipynb", body=WRITES_SCORES.format(stage=down))
    assert set(_run(mini).values()) == {"ran"}
    state = json.loads((mini / "runs/smoke/.pipeline" / f"{down}.json").read_text())
    assert state["outputs"] == ["downstream/scores.csv"]
    scores = mini / "runs/smoke/downstream/scores.csv"
    scores.write_text("".join(scores.read_text().splitlines(keepends=True)[:2]))  # cut at a line end
    lines = []
    st = _run(mini, lines, stages=[STAGES[5].name], force=True)  # even when only the summary is asked for
    assert st[down] == "ran" and st[STAGES[4].name] == "skipped"  # not asked for, not damaged
    why = _why(lines, down)
    assert why.startswith("its results file fails its check") and "scores.csv is truncated" in why
    assert len(scores.read_text().splitlines()) == 4  # rewritten whole
    assert set(_run(mini).values()) == {"cached"}


def test_moving_the_run_folder_reruns_nothing(mini, tmp_path_factory):  # noqa: F811
    """The fault: moving --out reran every stage ("parameters changed: run_dir")."""
    base = tmp_path_factory.mktemp("outs")
    assert set(_run(mini, out_root=base / "a").values()) == {"ran"}
    shutil.move(base / "a", base / "b")
    lines = []
    assert set(_run(mini, lines, out_root=base / "b").values()) == {"cached"}, lines


def test_an_empty_or_non_mapping_preset_is_an_error(tmp_path):
    """The fault: an empty preset file ran on defaults with rc 0."""
    for text, why in (("", "is empty"), ("# only a comment\n", "is empty"), ("- a\n- b\n", "expected a mapping")):
        path = tmp_path / "p.yml"
        path.write_text(text)
        with pytest.raises(ValueError, match=why):
            load_preset(str(path))


HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from vise_lib.run.run_lock import RunLock
    with RunLock(Path(sys.argv[1]), echo=lambda *_: None):
        print("held", flush=True)
        time.sleep(60)
    """
)


def test_a_second_run_on_the_same_folder_stops_at_once_naming_the_holder(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunFolderBusy) as e, RunLock(tmp_path, echo=lambda *_: None):
            pass
        assert f"pid {holder.pid} on host" in str(e.value) and "in use by another vise run" in str(e.value)
    finally:
        holder.kill()
        holder.wait()
    # the holder was killed (-9): its lock file is still there; the next run takes it over and says so
    assert json.loads((tmp_path / ".pipeline/lock").read_text())["pid"] == holder.pid
    said = []
    with RunLock(tmp_path, echo=said.append):
        assert json.loads((tmp_path / ".pipeline/lock").read_text())["pid"] == os.getpid()
    assert len(said) == 1 and f"left by pid {holder.pid}" in said[0] and "taking over" in said[0]
    said.clear()
    with RunLock(tmp_path, echo=said.append):  # a clean exit leaves nothing to take over
        pass
    assert not said


def test_run_holds_the_lock(mini):  # noqa: F811
    (mini / "runs/smoke").mkdir(parents=True)
    # the same process: flock is per open file, so a second open conflicts
    busy = pytest.raises(RunFolderBusy, match=r"runs/smoke is in use by another vise run")
    with RunLock(mini / "runs/smoke", echo=lambda *_: None), busy:
        run("smoke", root=mini, book=False, echo=lambda *_: None)


def test_a_failed_book_build_leaves_nothing_the_next_build_keeps(tmp_path):
    """The fault: after ENOSPC, the rerun kept a cut figure PNG (myst-nb keeps an existing file)."""
    out = tmp_path / "_build" / "smoke"
    cut = out / "_build" / "jupyter_execute" / "book" / "fig.png"
    img = out / "_build" / "html" / "_images" / "fig.png"
    for f in (cut, img):
        f.parent.mkdir(parents=True)
        f.write_bytes(b"\x89PNG cut")
    assert clear_failed_build(out, echo=lambda *_: None) == []  # a finished build: kept
    assert cut.exists()
    (out / INCOMPLETE).write_text("123\n")
    said = []
    gone = clear_failed_build(out, echo=said.append)
    assert not cut.exists() and not img.exists() and len(gone) == 2
    assert "did not finish" in said[0]


def _children() -> set[int]:
    return {p for p in _kids(os.getpid()) if _running(p)}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_stage_kernel_is_shut_down_when_its_notebook_ends(mini):  # noqa: F811
    """The fault: stage kernels were never shut down (6 alive during the book build)."""
    before = _children()
    _run(mini, stages=[STAGES[0].name])
    assert not _children() - before


SIGINT_RUN = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from vise_lib.run.pipeline import run
    from vise_lib.tools import guard
    sys.exit(guard("vise", lambda: run("smoke", root=Path(sys.argv[1]), book=False) and 0))
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups and /proc")
def test_ctrl_c_in_a_stage_is_one_line_and_the_rerun_resumes(mini):  # noqa: F811
    """The fault: SIGINT printed a 60-line traceback through papermill and zmq."""
    import signal

    flag, block = mini / "in-cell", mini / "block"
    block.write_text("")
    body = (
        f"import pathlib, time\nif pathlib.Path({str(block)!r}).exists():\n"
        f"    pathlib.Path({str(flag)!r}).write_text('x')\n    time.sleep(120)"
    )
    _notebook(mini / "notebooks" / f"{STAGES[1].name}.ipynb", body=body)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    p = subprocess.Popen(
        [sys.executable, "-c", SIGINT_RUN, str(mini)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group: Ctrl-C reaches it and its kernel, as on a terminal
    )
    try:
        for _ in range(1200):
            if flag.exists() or p.poll() is not None:
                break
            subprocess.run(["sleep", "0.1"])
        assert flag.exists(), p.communicate()
        os.killpg(p.pid, signal.SIGINT)
        _, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "interrupted" in lines[0] and "Traceback" not in err, err
    # the stage did not finish: the next run says so and runs it (the earlier one stays cached)
    block.unlink()
    said = []
    st = _run(mini, said)
    assert st[STAGES[0].name] == "cached" and st[STAGES[1].name] == "ran"
    assert _why(said, STAGES[1].name).startswith("the last run did not finish")


ORPHAN = textwrap.dedent(
    """
    import subprocess, sys
    from vise_lib.run.pipeline import _die_with_parent
    child = subprocess.Popen(["sleep", "300"], preexec_fn=_die_with_parent)
    print(child.pid, flush=True)
    child.wait()
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_book_build_child_ends_when_vise_run_is_killed():
    """The fault: `kill -9` of vise run orphaned the jupyter-book child, which kept building."""
    import signal

    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    parent = subprocess.Popen([sys.executable, "-c", ORPHAN], stdout=subprocess.PIPE, text=True, env=env)
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    for _ in range(100):  # the kernel delivers SIGTERM to the child at once; let it be reaped by init
        if not os.path.exists(f"/proc/{child}") or open(f"/proc/{child}/stat").read().split()[2] == "Z":
            break
        subprocess.run(["sleep", "0.1"])
    alive = os.path.exists(f"/proc/{child}") and open(f"/proc/{child}/stat").read().split()[2] != "Z"
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive


def _kids(pid: int) -> set[int]:
    kids = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            kids |= {int(p) for p in f.read().split()}
    return kids


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups and /proc")
def test_kill_9_of_vise_run_ends_its_kernel_and_the_rerun_takes_over_the_lock(mini):  # noqa: F811
    import signal

    flag, block = mini / "in-cell", mini / "block"
    block.write_text("")
    body = (
        f"import pathlib, time\nif pathlib.Path({str(block)!r}).exists():\n"
        f"    pathlib.Path({str(flag)!r}).write_text('x')\n    time.sleep(120)"
    )
    _notebook(mini / "notebooks" / f"{STAGES[1].name}.ipynb", body=body)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    p = subprocess.Popen([sys.executable, "-c", SIGINT_RUN, str(mini)], stdout=subprocess.DEVNULL, env=env)
    try:
        for _ in range(1200):
            if flag.exists() or p.poll() is not None:
                break
            subprocess.run(["sleep", "0.1"])
        assert flag.exists()
        kernels = _kids(p.pid)
        assert kernels
    finally:
        p.kill()
        p.wait()
    for _ in range(100):  # the kernel polls its parent once a second
        if not any(_running(k) for k in kernels):
            break
        subprocess.run(["sleep", "0.2"])
    left = [k for k in kernels if _running(k)]
    for k in left:
        os.kill(k, signal.SIGKILL)
    assert not left
    block.unlink()
    said = []
    st = _run(mini, said)
    assert st[STAGES[1].name] == "ran" and any(f"left by pid {p.pid}" in line for line in said)
