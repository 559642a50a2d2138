import pytest

from vise_lib.cli import TOOLS, main


def test_unknown_preset_is_a_clear_error(capsys):
    assert main(["run", "--preset", "no-such-preset", "--no-book"]) == 1
    assert "unknown preset 'no-such-preset'" in capsys.readouterr().err


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_real_data_tools_are_forwarded(tool, capsys):
    with pytest.raises(SystemExit) as e:
        main([tool, "--help"])
    assert e.value.code == 0
    assert f"vise_lib.{TOOLS[tool][0].split('.')[-1]}" in capsys.readouterr().out
