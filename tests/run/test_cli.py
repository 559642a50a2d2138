import pytest

from vise_lib.run.cli import main
from vise_lib.tools import TOOLS


def test_unknown_preset_is_a_clear_error(capsys):
    assert main(["run", "--preset", "no-such-preset", "--no-book"]) == 2
    assert "unknown preset 'no-such-preset'" in capsys.readouterr().err


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_real_data_tools_are_forwarded(tool, capsys):
    with pytest.raises(SystemExit) as e:
        main([tool, "--help"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: vise {tool} ")


def test_bad_tool_input_is_one_line_and_status_2(tmp_path, capsys):
    assert main(["shards", "--shards", str(tmp_path / "none"), "--to-npy", str(tmp_path / "x.npy")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vise shards: error: ") and "Traceback" not in err


def test_python_m_pretrain_is_vise_train(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "vise_lib.pretrain", "--images", str(tmp_path / "no.npy"), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"vise train: error: images file not found: {tmp_path / 'no.npy'}"
