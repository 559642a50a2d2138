"""run_world: the world stage as one library call, its results file typed and read back."""

import json

import pytest
from conftest import TINY_WORLD

from vise_lib.io import write_check
from vise_lib.stages.world import WorldResult
from vise_lib.world.diagnostics import calibration_table, model_tables, read_model


def test_run_world_writes_the_world_and_its_typed_results(tiny_run):
    run, world, _ = tiny_run
    assert (run / "world" / "posts" / "manifest.jsonl").is_file() and (run / "world" / "world.json").is_file()
    assert (
        list(world.config.items()) == list(world.world_config().to_params().items())
        and world.config["n_posts"] == TINY_WORLD["n_posts"]
    )
    assert world.counts["posts"] == 160 and world.counts["downstream_test"] == 40
    assert world.counts == world.calibration["counts"]
    assert set(world.engagement_probe) == {"affect", "stance", "object", "poster"}
    assert set(world.chance) == {f"engagement/{k}" for k in world.engagement_probe}
    assert world.summary().startswith("160 posts, ")
    on_disk = json.loads((run / WorldResult.FILE).read_text())
    assert on_disk == world.to_json() and sorted(on_disk) == ["calibration", "config", "counts", "stage"]
    assert on_disk["stage"] == "world"
    assert WorldResult.read(run) == world


def test_world_tables_come_from_the_results_and_world_json(tiny_run):
    run, world, _ = tiny_run
    table = calibration_table(world.calibration)
    assert list(table["target"]) == ["affect", "stance", "object", "poster"]
    assert (table["above chance"] == (table["accuracy"] - table["chance"]).round(3)).all()
    assert len(model_tables(read_model(run / "world"))) == 6


def test_read_names_the_missing_or_broken_file_and_the_stage(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"world/results\.json is missing: run the stage 00_world"):
        WorldResult.read(tmp_path)
    (tmp_path / "world").mkdir()
    (tmp_path / WorldResult.FILE).write_text("{not json")
    write_check(tmp_path / WorldResult.FILE, "00_world")
    with pytest.raises(ValueError, match=r"world/results\.json is not valid JSON"):
        WorldResult.read(tmp_path)
    (tmp_path / WorldResult.FILE).write_text(json.dumps({"stage": "world", "config": {}}))
    write_check(tmp_path / WorldResult.FILE, "00_world")
    with pytest.raises(ValueError, match=r"lacks \['calibration', 'counts'\].*00_world"):
        WorldResult.read(tmp_path)
