"""The Reproducibility page: stage keys, wall times, seeds, rerun commands and versions, as typed
records first, then on the rendered page."""

from types import SimpleNamespace

from vise_lib.run.presets import STAGES
from vise_lib.run.reproducibility_page import (
    KEY_PACKAGES,
    papermill_command,
    reproducibility_context,
    reproducibility_page,
)

KEY = "0123456789abcdef" + "f" * 48
STATES = {
    "00_world": {"key": KEY, "seconds": 15.94, "params": {"run_dir": "/r", "preset": "smoke", "seed": 3}},
    "02_pretrain": {
        "key": KEY,
        "seconds": 34.2,
        "params": {"preset": "smoke", "config": {"seeds": [0, 1], "train": {"lr": 0.1, "data_seed": 7}}},
    },
}
RESULTS = [SimpleNamespace(stage="00_world", status="cached"), SimpleNamespace(stage="02_pretrain", status="ran")]


def test_records_keys_times_seeds_and_commands():
    ctx = reproducibility_context("smoke", STAGES, STATES, RESULTS, packages={"torch": "2.14.1", "numpy": "2.1"})
    world, labels, pretrain = ctx.stages[:3]
    assert (world.stage, world.status, world.key, world.seconds) == ("00_world", "cached", KEY[:16], 15.94)
    assert (labels.status, labels.key, labels.seconds, labels.command) == (None, None, None, None)  # never run
    assert pretrain.command == papermill_command(STAGES[2], "smoke", STATES["02_pretrain"]["params"])
    # every parameter named *seed*, at any depth; a typed section's config level is left out of the name
    assert ctx.seeds == ("pretrain.seeds = [0, 1]", "pretrain.train.data_seed = 7", "world.seed = 3")
    assert dict(ctx.key_packages) == {p: {"torch": "2.14.1", "numpy": "2.1"}.get(p) for p in KEY_PACKAGES}
    assert ctx.packages == (("torch", "2.14.1"), ("numpy", "2.1"))


def test_the_page_shows_the_records():
    page = reproducibility_page("smoke", STAGES, STATES, RESULTS)
    assert "| `00_world` | cached | `0123456789abcdef` | 15.9 |" in page
    assert "| `01_engagement_to_labels` | - | `-` | - |" in page
    assert "- `world.seed = 3`" in page and "- `pretrain.seeds = [0, 1]`" in page
    assert papermill_command(STAGES[0], "smoke", STATES["00_world"]["params"]) in page
    assert '-p run_dir "$PWD/runs/smoke" -p preset smoke' in page  # the run folder, not this machine's path


def test_papermill_command_passes_strings_as_text_and_the_rest_as_yaml():
    cmd = papermill_command(STAGES[0], "smoke", {"run_dir": "/abs", "preset": "smoke", "x": [1, 2], "name": "a b"})
    assert cmd.startswith(".venv/bin/papermill -k vise-venv --cwd book/_generated/smoke notebooks/00_world.ipynb")
    assert "-y 'x: [1, 2]'" in cmd and "-p name 'a b'" in cmd and "/abs" not in cmd


def _lock(tmp_path, pins: dict[str, str]):
    from vise_lib.run.lock import read_lock

    text = "".join(f"{n}=={v} \\\n    --hash=sha256:{'0' * 64}\n" for n, v in pins.items())
    (tmp_path / "requirements.lock").write_text(text)
    return read_lock(tmp_path / "requirements.lock")


def test_the_page_names_the_lock_digest_and_every_package_that_differs(tmp_path):
    lock = _lock(tmp_path, {"torch": "2.14.1", "numpy": "2.4.6", "scipy": "1.17.1"})
    installed = {"torch": "2.14.1+cu130", "numpy": "2.1", "vise-companion": "0.1.0", "dask": "2026.1"}
    ctx = reproducibility_context("smoke", STAGES, STATES, RESULTS, packages=installed, lock=lock)
    assert ctx.lock is not None and ctx.lock.digest == lock.digest and ctx.lock.locked == 3
    assert [(d.name, d.locked, d.installed) for d in ctx.lock.drift] == [
        ("numpy", "2.4.6", "2.1"),
        ("scipy", "1.17.1", None),
    ]
    assert ctx.lock.unlocked == ("dask",)  # the project itself is installed on purpose without the lock
    from vise_lib.run.page_template import render

    page = render("reproducibility.md", ctx)
    assert f"sha256 `{lock.digest}`" in page and "3 packages pinned" in page
    assert "| numpy | 2.4.6 | 2.1 |" in page and "| scipy | 1.17.1 | not installed |" in page
    assert "Installed but not in the lock: `dask`." in page


def test_a_clean_install_shows_no_difference(tmp_path):
    lock = _lock(tmp_path, {"torch": "2.14.1", "numpy": "2.4.6"})
    ctx = reproducibility_context("smoke", STAGES, STATES, RESULTS, packages=dict(lock.versions), lock=lock)
    from vise_lib.run.page_template import render

    page = render("reproducibility.md", ctx)
    assert "Every locked package is installed at its locked version." in page and "| locked |" not in page


def test_the_repository_lock_is_read_by_default():
    from vise_lib.run.lock import read_lock

    ctx = reproducibility_context("smoke", STAGES, STATES, RESULTS, packages={})
    assert ctx.lock is not None and ctx.lock.digest == read_lock().digest
    assert len(ctx.lock.drift) == ctx.lock.locked  # nothing installed: every locked package is missing
