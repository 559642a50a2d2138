import pytest

from vise_lib.run.presets import STAGES, available_presets, load_preset, stage_parameters


def test_shipped_presets_load_and_cover_every_stage():
    assert {"smoke", "default"} <= set(available_presets())
    for name in ("smoke", "default"):
        cfg = load_preset(name)
        assert all(isinstance(cfg[s.section], dict) for s in STAGES)


def test_stage_parameters_are_flat_with_run_dir(tmp_path):
    cfg = load_preset("smoke")
    p = stage_parameters(cfg, STAGES[0], "smoke", tmp_path)
    assert p["run_dir"] == str(tmp_path) and p["preset"] == "smoke" and "n_posts" in p


def test_unknown_preset_and_section_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown preset 'nope'.*available"):
        load_preset("nope")
    bad = tmp_path / "bad.yml"
    bad.write_text("wrld: {}\n")
    with pytest.raises(ValueError, match=r"unknown section\(s\) \['wrld'\]"):
        load_preset(str(bad))
