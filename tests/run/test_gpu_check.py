"""benchmarks/gpu_check.py: its dry run on the CPU, its loud failures, its wheel installer."""

import importlib.util
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from conftest import REPO

SCRIPT = REPO / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    yield mod
    sys.modules.pop("gpu_check", None)


@pytest.mark.slow
def test_the_dry_run_measures_every_figure_and_prints_each_as_it_goes(tmp_path):
    out = tmp_path / "gpu.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--dry-run", "--out", str(out)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1].startswith("BENCH gpu ")
    # each figure has its own line, printed before the end (flushed as measured)
    order = [
        next(i for i, line in enumerate(lines) if f"{k}=" in line)
        for k in ("model_img_s", "loader_img_s_per_worker", "e2e_img_s")
    ]
    assert order == sorted(order) and order[-1] < len(lines) - 2
    record = json.loads(out.read_text())
    assert record["name"] == "gpu" and record["dry_run"] is True and record["line"] == lines[-1]
    v = record["values"]
    for k in ("model_img_s", "loader_img_s_per_worker", "loader_img_s", "e2e_img_s", "e2e_first_epoch_img_s"):
        assert isinstance(v[k], float) and v[k] > 0, k
    assert v["device"] == "cpu" and v["gpus"] == 0 and v["e2e_steps"] == 8 and v["posts"] == 32


def test_no_cuda_device_is_a_loud_failure_unless_a_dry_run(check, tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert check.main(["--out", str(tmp_path / "gpu.json"), "--site", str(tmp_path / "site")]) == 1
    assert "GPU CHECK FAILED: no CUDA device" in capsys.readouterr().out
    assert not (tmp_path / "gpu.json").exists()  # nothing recorded as measured
    assert check.cuda_devices(dry_run=True) == []


def _wheel(folder, name, version="1.0", tag="py3-none-any"):
    path = folder / f"{name}-{version}-{tag}.whl"
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{name}/__init__.py", "VALUE = 42\n")
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        z.writestr(f"{info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n")
        z.writestr(f"{info}/RECORD", "")
    return path


@pytest.mark.parametrize("pip", [True, False])
def test_a_missing_module_is_installed_from_its_wheel_and_only_then(check, tmp_path, monkeypatch, pip):
    if not pip:  # a Python without pip: the wheels are unpacked
        monkeypatch.setattr(check.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 1, "", "no pip"))
    wheels = tmp_path / "whl"
    wheels.mkdir()
    _wheel(wheels, "vise_fake_dep")
    monkeypatch.setattr(check, "NEEDED", {"numpy": "numpy", "vise_fake_dep": "vise-fake-dep"})
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("PYTHONPATH", "")
    site = tmp_path / "site"
    assert check.ensure_modules(site, wheels) == ["vise-fake-dep"]  # numpy is there: not installed
    assert (site / "vise_fake_dep" / "__init__.py").is_file() and not (site / "numpy").exists()
    assert str(site) in sys.path[0] and str(site) in __import__("os").environ["PYTHONPATH"]
    assert __import__("vise_fake_dep").VALUE == 42
    sys.modules.pop("vise_fake_dep")


def test_a_missing_module_without_a_wheel_names_it_and_the_make_target(check, tmp_path, monkeypatch):
    monkeypatch.setattr(check, "NEEDED", {"vise_absent_mod": "vise-absent-mod"})
    with pytest.raises(check.CheckFailed, match=r"vise_absent_mod \(vise-absent-mod\).*make gpu-wheels"):
        check.ensure_modules(tmp_path / "site", tmp_path)
    _wheel(tmp_path, "vise_absent_mod", tag="cp27-cp27-manylinux_2_17_x86_64")
    with pytest.raises(check.CheckFailed, match="not for this Python"):
        check.ensure_modules(tmp_path / "site", tmp_path)


def test_the_several_gpu_run_uses_this_python_not_a_torchrun_script(check, tmp_path):
    sz = check.Sizes.of(dry_run=False)
    cmd = check.torchrun_command(sz, tmp_path / "s", tmp_path / "l.npz", 4, "cuda", tmp_path / "o")
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"] and "--nproc_per_node=4" in cmd
    assert cmd[cmd.index("--batch-size") + 1] == "1024" and cmd[cmd.index("--lr") + 1] == "0.4"  # linear scaling
    assert cmd[cmd.index("--crop") + 1] == "resized" and not any("./torchrun" in a for a in cmd)


def test_photo_like_images_are_not_flat(check):
    images = check.photo_like(4, 64)
    assert images.shape == (4, 64, 64, 3) and images.dtype == np.uint8
    for im in images:
        assert len(np.unique(im.reshape(-1, 3), axis=0)) > 1000  # gradients + noise: many colours
        assert np.abs(np.diff(im.astype(int), axis=1)).max() > 60  # hard edges


def test_a_check_over_its_time_limit_ends_as_failed_keeping_what_it_measured(check, tmp_path, capsys, monkeypatch):
    import time

    import torch  # noqa: F401  imported before the alarm starts, so the first figures come well inside it
    import torchvision  # noqa: F401

    import vise_lib.pretrain.sources  # noqa: F401

    def hang(*_args, **_kwargs):  # the model step hangs: only the alarm can end the check
        time.sleep(120)

    monkeypatch.setattr(check, "model_rate", hang)
    out = tmp_path / "gpu.json"
    assert check.main(["--dry-run", "--budget", "-25", "--out", str(out), "--site", str(tmp_path / "site")]) == 1
    printed = capsys.readouterr().out
    assert "GPU CHECK FAILED: over the time limit (5s)" in printed and "BENCH gpu" not in printed
    assert json.loads(out.read_text())["values"]["device"] == "cpu"  # the figures of before the alarm
