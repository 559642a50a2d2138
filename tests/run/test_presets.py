import pytest

from vise_lib.pretrain.config import TrainConfig
from vise_lib.run.presets import STAGES, available_presets, load_preset, stage_config, stage_parameters


def test_shipped_presets_load_and_cover_every_stage():
    assert {"smoke", "default"} <= set(available_presets())
    for name in ("smoke", "default"):
        cfg = load_preset(name)
        assert all(isinstance(cfg[s.section], dict) for s in STAGES)


def test_stage_parameters_carry_run_dir_and_the_world_config(tmp_path):
    cfg = load_preset("smoke")
    p = stage_parameters(cfg, STAGES[0], "smoke", tmp_path)
    assert p["run_dir"] == str(tmp_path) and p["preset"] == "smoke" and p["config"]["n_posts"] == 800
    assert p["config"]["affect_from_content"] == 0.7  # defaults filled in


def test_unknown_preset_and_section_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match=r"unknown preset 'nope'.*available"):
        load_preset("nope")
    bad = tmp_path / "bad.yml"
    bad.write_text("wrld: {}\n")
    with pytest.raises(ValueError, match=r"unknown section\(s\) \['wrld'\]"):
        load_preset(str(bad))


def test_typed_sections_reach_the_notebook_as_one_validated_config(tmp_path):
    from vise_lib.run.presets import ALL_STAGES

    cfg = load_preset("smoke")
    labels = next(s for s in ALL_STAGES if s.section == "labels")
    p = stage_parameters(cfg, labels, "smoke", tmp_path)
    assert set(p) == {"run_dir", "preset", "config"}
    assert p["config"]["n_clusters"] == 16 and p["config"]["pca_dim"] is None  # defaults filled in


@pytest.mark.parametrize(
    "section, typo, closest",
    [("labels", "n_cluster", "n_clusters"), ("labels", "sigal", "signal"), ("ingest", "imagesize", "image_size")],
)
def test_a_typo_in_a_typed_section_stops_before_any_notebook(tmp_path, section, typo, closest):
    bad = tmp_path / "typo.yml"
    bad.write_text(f"{section}:\n  {typo}: 3\n")
    with pytest.raises(ValueError) as e:
        load_preset(str(bad))
    msg = str(e.value)
    assert f"section '{section}': unknown key '{typo}'" in msg and f"did you mean '{closest}'" in msg
    assert str(bad) in msg


def test_the_pretrain_sections_training_setup_is_checked_against_train_config(tmp_path):
    bad = tmp_path / "typo.yml"
    bad.write_text("pretrain:\n  train:\n    widht: 8\n")
    with pytest.raises(ValueError, match=r"pretrain.train: unknown key 'widht'; did you mean 'width'\?") as e:
        load_preset(str(bad))
    assert str(bad) in str(e.value)
    bad.write_text("pretrain:\n  train:\n    seed: 3\n")  # the seed is set per run, from `seeds`
    with pytest.raises(ValueError, match="pretrain.train: unknown key 'seed'"):
        load_preset(str(bad))
    bad.write_text("pretrain:\n  train:\n    epochs: 0\n")  # TrainConfig's own range check
    with pytest.raises(ValueError, match="epochs"):
        load_preset(str(bad))
    good = tmp_path / "good.yml"
    good.write_text("pretrain:\n  seeds: [4]\n  train:\n    width: 8\n    objectives: {simclr: {proj_dim: 16}}\n")
    cfg = stage_config("pretrain").from_params(load_preset(str(good))["pretrain"]).train_config()
    assert (cfg.width, cfg.objectives, cfg.epochs) == (8, {"simclr": {"proj_dim": 16}}, TrainConfig().epochs)
    bad.write_text("pretrain:\n  train:\n    objectives: {simclr: {temprature: 0.5}}\n")  # checked before any run
    with pytest.raises(ValueError, match=r"objectives.simclr: unknown key 'temprature'; did you mean 'temperature'\?"):
        load_preset(str(bad))
