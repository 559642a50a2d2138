"""``run_downstream`` on a tiny world and on a real-layout dataset: the typed result is the file it wrote."""

import json

import pytest
from conftest import write_real_datasets, write_study_run

from vise_lib.backbones.archs import build_backbone
from vise_lib.backbones.checkpoint import save_backbone
from vise_lib.io import write_check
from vise_lib.stages.downstream import DownstreamResult, run_downstream
from vise_lib.transfer.stage_config import DownstreamConfig
from vise_lib.verdicts.results import read_correct, read_scores


@pytest.fixture(scope="module")
def world_run(tmp_path_factory):
    run = write_study_run(tmp_path_factory.mktemp("downstream") / "run")
    lines: list[str] = []
    config = {"tasks": ["emotion", "stance"], "seeds": [0], "num_threads": 1}
    return run, run_downstream(config, run, echo=lines.append), lines


def test_world_result_is_typed_and_is_the_file(world_run):
    run, result, lines = world_run
    assert result.backbones == ["vise@0", "shuffled@0"] and result.tasks == ["emotion", "stance"]
    assert result.seeds == [0] and result.protocols == ["linear"] and len(result.runs) == 2 * 2
    assert result.data == {"source": "world", "tasks": ["emotion", "stance"]}
    assert result.chance == {"emotion": pytest.approx(1 / 6), "stance": pytest.approx(1 / 2)}
    readout = {(r["backbone"], r["factor"]) for r in result.factor_readout}
    assert readout == {(b, f) for b in ("vise@0", "shuffled@0") for f in ("shape", "texture", "layout", *result.tasks)}
    assert "factor readout" in result.timing and result.cache["misses"] > 0
    assert json.loads((run / DownstreamResult.FILE).read_text()) == result.to_json()
    assert DownstreamResult.read(run) == result
    assert lines[0] == "2 backbones: vise@0, shuffled@0"
    assert lines[-1] == "8 score rows: 4 backbones x 2 tasks x pretraining seeds x 1 probe seed(s)"


def test_world_scores_hold_every_backbone_and_the_references(world_run):
    run, result, _ = world_run
    scores = read_scores(run / DownstreamResult.SCORES)
    assert sorted(set(scores.backbone)) == ["handmade", "pixels", "shuffled", "vise"] and len(scores) == 8
    correct = read_correct(run / DownstreamResult.CORRECT)
    keys = [(r.backbone, r.task, r.pretrain_seed, r.probe_seed) for r in scores.itertuples()]
    assert sorted(correct) == sorted(keys)
    for key, top1 in zip(keys, scores.top1, strict=True):  # a score is the mean of its per-image correctness
        assert top1 == pytest.approx(100 * correct[key].mean(), abs=1e-3)
    vise = next(r for r in result.runs if r["backbone"] == "vise@0" and r["task"] == "emotion")
    assert scores[(scores.backbone == "vise") & (scores.task == "emotion")].top1.item() == pytest.approx(
        100 * vise["test"]["top1"], abs=1e-3
    )


def test_dataset_with_a_typed_config_and_external_backbones(tmp_path):
    data = write_real_datasets(tmp_path / "data", px=16)
    ck = save_backbone(build_backbone("small_resnet", width=4), tmp_path / "r.pt")
    config = DownstreamConfig(
        dataset=str(data["objects"]),
        image_size=16,
        seeds=[0, 1],
        num_threads=1,
        backbones={"r": {"path": str(ck), "arch": "small_resnet", "width": 4}},
    )
    lines: list[str] = []
    result = run_downstream(config, tmp_path / "run", echo=lines.append)
    assert (
        result.backbones == ["r"] and result.tasks == ["objects"] and len(result.runs) == 2
    )  # named after the dataset
    assert result.factor_readout is None and "factor_readout" not in result.to_json()
    assert result.data["classes"] == ["circle", "square", "star"] and result.data["format"] == "imagefolder"
    assert [p for p, _ in result.data["skipped"]][:2] == ["circle/.DS_Store", "star/broken.jpg"]
    assert any("1 undecodable image" in line for line in lines)
    assert DownstreamResult.read(tmp_path / "run") == result
    # the majority and chance rows, as vise evaluate writes them; no world reference rows
    assert set(read_scores(tmp_path / "run" / DownstreamResult.SCORES).backbone) == {"r", "majority", "chance"}
    assert {"majority", "chance", "majority_class"} <= set(result.data["baselines"])


def test_the_stage_on_a_dataset_and_vise_evaluate_give_the_same_tables(tmp_path):
    """One code path: the 03_downstream stage on a dataset and vise evaluate (transfer.evaluate) give the
    same score rows (majority and chance included), per-class tables and confusion matrices."""
    from vise_lib.transfer import report
    from vise_lib.transfer.config import TransferConfig
    from vise_lib.transfer.evaluate import evaluate

    data = write_real_datasets(tmp_path / "data", px=16)
    ck = save_backbone(build_backbone("small_resnet", width=4), tmp_path / "r.pt")
    stage = DownstreamConfig(
        dataset=str(data["sentiment"]), image_size=16, seeds=[0, 1], num_threads=1, backbones={"r": str(ck)}
    )
    down = run_downstream(stage, tmp_path / "stage", echo=lambda *_: None)
    assert down.tasks == ["sentiment"]  # labels.csv in sentiment/: named after its folder
    cfg = TransferConfig(
        backbones={"r": str(ck)},
        datasets={"sentiment": str(data["sentiment"])},
        image_size=16,
        seeds=[0, 1],
        n_boot=100,
    )
    ev = evaluate(cfg, tmp_path / "evaluate", echo=lambda *_: None)
    a = read_scores(tmp_path / "stage" / DownstreamResult.SCORES).sort_values(["backbone", "probe_seed"])
    b = read_scores(tmp_path / "evaluate" / "downstream" / "scores.csv").sort_values(["backbone", "probe_seed"])
    assert a.reset_index(drop=True).equals(b.reset_index(drop=True))
    assert set(a.backbone) == {"r", "majority", "chance"}
    assert down.runs == ev["runs"] and down.data["baselines"] == ev["baselines"]["sentiment"]
    view = down.transfer_view()
    assert report.dataset_table(view, "sentiment").equals(report.dataset_table(ev, "sentiment"))
    assert report.headline_table(view).equals(report.headline_table(ev))
    assert "majority class" in report.headline_table(view).index


def test_missing_or_broken_files_name_the_file_and_the_stage(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"downstream/results\.json is missing: run the stage 03_downstream"):
        DownstreamResult.read(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"pretrain/results\.json is missing: run the stage 02_pretrain"):
        run_downstream({}, tmp_path)
    path = tmp_path / DownstreamResult.FILE
    path.parent.mkdir()
    path.write_text("{")
    with pytest.raises(ValueError, match=r"results\.json has no check file .*03_downstream"):
        DownstreamResult.read(tmp_path)  # a file its stage did not write (with its check) is not read
    write_check(path, "03_downstream")
    with pytest.raises(ValueError, match=r"results\.json is not valid JSON .*03_downstream"):
        DownstreamResult.read(tmp_path)
    path.write_text(json.dumps({"runs": [], "surprise": 1}))
    write_check(path, "03_downstream")
    with pytest.raises(ValueError, match=r"results\.json lacks \['tasks'.*03_downstream"):
        DownstreamResult.read(tmp_path)
