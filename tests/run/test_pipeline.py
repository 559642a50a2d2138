"""The pipeline's orchestration on a miniature project of trivial notebooks (fast)."""

import dataclasses
import json

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_notebook

from vise_lib.run.pipeline import StageFailed, book_toc, run
from vise_lib.run.presets import ALL_STAGES, INGEST, STAGES, stage_config


def _notebook(path, body="print('x =', x)"):
    nb = new_notebook(
        cells=[
            new_code_cell("run_dir = ''\npreset = ''\nx = 0\nconfig = {}", metadata={"tags": ["parameters"]}),
            new_code_cell(body),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def section(stage, i):
    """A preset section with one parameter: ``x`` (untyped sections), the typed config's first
    integer field, or else its first list of integers (typed)."""
    typed = stage_config(stage.section)
    if typed is None:
        return {"x": i}
    fields = dataclasses.fields(typed)
    field = next((f for f in fields if f.type in ("int", int)), None)
    if field is not None:
        return {field.name: field.default + i + 1}
    field = next(f for f in fields if f.type in ("list[int]", list[int]))
    return {field.name: [i + 1]}


@pytest.fixture
def mini(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "configs").mkdir()
    for s in ALL_STAGES:
        _notebook(tmp_path / "notebooks" / f"{s.name}.ipynb")
    cfg = {s.section: section(s, i) for i, s in enumerate(STAGES)}
    (tmp_path / "configs" / "smoke.yml").write_text(yaml.safe_dump(cfg))
    return tmp_path


def statuses(results):
    return {r.stage: r.status for r in results}


def test_runs_then_caches_then_reruns_only_downstream(mini):
    names = [s.name for s in STAGES]
    first = run("smoke", root=mini, book=False, echo=lambda *_: None)
    assert set(statuses(first).values()) == {"ran"}
    out = nbformat.read(mini / "book/_generated/smoke" / f"{names[0]}.ipynb", as_version=4)
    assert "config = {" in "".join(c.source for c in out.cells)  # the preset's section was injected

    second = run("smoke", root=mini, book=False, echo=lambda *_: None)
    assert set(statuses(second).values()) == {"cached"}

    cfg = yaml.safe_load((mini / "configs/smoke.yml").read_text())
    cfg[STAGES[2].section] = {k: [42] if isinstance(v, list) else 42 for k, v in cfg[STAGES[2].section].items()}
    (mini / "configs/smoke.yml").write_text(yaml.safe_dump(cfg))
    third = statuses(run("smoke", root=mini, book=False, echo=lambda *_: None))
    assert [third[n] for n in names] == ["cached", "cached"] + ["ran"] * (len(names) - 2)
    timings = json.loads((mini / "runs/smoke/pipeline.json").read_text())
    assert [t["stage"] for t in timings] == names


def test_failing_notebook_names_cell_and_keeps_earlier_notebooks(mini):
    _notebook(mini / "notebooks" / f"{STAGES[1].name}.ipynb", body="raise ValueError('bad input row 7')")
    with pytest.raises(StageFailed) as e:
        run("smoke", root=mini, book=False, echo=lambda *_: None)
    msg = str(e.value)
    assert STAGES[1].notebook in msg and "cell 2" in msg and "ValueError: bad input row 7" in msg
    assert (mini / "book/_generated/smoke" / f"{STAGES[0].name}.ipynb").exists()
    assert (mini / "runs/smoke/.pipeline" / f"{STAGES[0].name}.json").exists()
    assert not (mini / "runs/smoke/.pipeline" / f"{STAGES[1].name}.json").exists()


def test_unknown_stage_rejected(mini):
    with pytest.raises(ValueError, match="unknown stage"):
        run("smoke", stages=["99_nothing"], root=mini, book=False)


def test_a_preset_chooses_its_stages_and_outputs_can_live_elsewhere(mini, tmp_path_factory):
    cfg = yaml.safe_load((mini / "configs/smoke.yml").read_text())
    cfg["stages"] = [INGEST.name, STAGES[1].name]
    cfg["ingest"] = {"chunk_rows": 7}
    (mini / "configs/real.yml").write_text(yaml.safe_dump(cfg))
    out = tmp_path_factory.mktemp("out")
    res = run("real", root=mini, out_root=out, book=False, echo=lambda *_: None)
    assert [r.stage for r in res] == [INGEST.name, STAGES[1].name]
    assert (out / "book/_generated/real" / f"{INGEST.name}.ipynb").exists()
    assert not (mini / "runs").exists()
    repro = (out / "book/_generated/real/reproducibility.md").read_text()
    assert INGEST.name in repro and STAGES[0].name not in repro


def test_book_toc_drops_pages_a_preset_did_not_produce(tmp_path):
    from vise_lib.run.presets import REPO_ROOT

    gen = tmp_path / "gen"
    gen.mkdir()
    for n in ("00_world.ipynb", "performance.md"):
        (gen / n).write_text("")
    toc = yaml.safe_load(book_toc(REPO_ROOT, gen))
    files = [c["file"] for p in toc["parts"] for c in p["chapters"]]
    assert "book/_generated/00_world" in files and "book/_generated/performance" in files
    assert "book/_generated/03_downstream" not in files and "book/method" in files


def test_a_real_data_evaluation_book_opens_on_its_answer(tmp_path):
    from vise_lib.run.presets import REPO_ROOT

    gen = tmp_path / "gen"
    gen.mkdir()
    for n in ("20_transfer.ipynb", "21_transfer_summary.ipynb", "performance.md"):
        (gen / n).write_text("")
    toc = yaml.safe_load(book_toc(REPO_ROOT, gen))
    files = [c["file"] for p in toc["parts"] for c in p["chapters"]]
    assert toc["root"] == "book/_generated/20_transfer" and "book/_generated/20_transfer" not in files
    assert files[0] == "book/intro" and "book/_generated/21_transfer_summary" in files
    # the world study's book keeps its introduction as the root
    (gen / "00_world.ipynb").write_text("")
    assert yaml.safe_load(book_toc(REPO_ROOT, gen))["root"] == "book/intro"


def test_stage_kernel_is_quiet_and_leaves_no_sockets(tmp_path, capfd):
    import nbformat

    from vise_lib.run.pipeline import execute_stage
    from vise_lib.run.presets import Stage

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    params = nbformat.v4.new_code_cell("x = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print(x * 2)")]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "t.ipynb")
    execute_stage(Stage("t", "t", "t"), {"x": 21}, tmp_path / "out" / "t.ipynb", root=tmp_path, expected_seconds=1.0)
    out = nbformat.read(tmp_path / "out" / "t.ipynb", 4)
    assert out.cells[-1].outputs[0]["text"] == "42\n"
    err = capfd.readouterr().err
    assert "without encryption" not in err and "KeyboardInterrupt" not in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["t.ipynb"]


def _run(root, lines=None, **kw):
    return statuses(
        run(
            kw.pop("preset", "smoke"),
            root=root,
            book=False,
            echo=(lines.append if lines is not None else lambda *_: None),
            **kw,
        )
    )


def _why(lines, stage):
    return next(line.split("(why: ", 1)[1].rstrip(")") for line in lines if f"] {stage}: executing" in line)


def test_item4_an_edited_input_file_or_folder_reruns_its_stage_and_says_why(mini, tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    manifest = data / "manifest.jsonl"
    manifest.write_text("".join(f'{{"post_id": "p{i}"}}\n' for i in range(150)))
    images = data / "downstream"
    (images / "cat").mkdir(parents=True)
    (images / "cat" / "a.jpg").write_bytes(b"x")
    cfg = yaml.safe_load((mini / "configs/smoke.yml").read_text())
    cfg["stages"] = [INGEST.name] + [s.name for s in STAGES]
    (data / "img").mkdir()
    cfg["ingest"] = {"manifest": str(manifest), "data_root": str(data / "img")}
    cfg[STAGES[3].section] = {"dataset": str(images)}
    (mini / "configs/smoke.yml").write_text(yaml.safe_dump(cfg))
    names = [INGEST.name] + [s.name for s in STAGES]

    lines = []
    assert set(_run(mini, lines).values()) == {"ran"}
    assert _why(lines, names[0]) == "no cached result"
    assert set(_run(mini).values()) == {"cached"}

    manifest.write_text("".join(f'{{"post_id": "p{i}"}}\n' for i in range(300)))  # 150 -> 300 posts
    lines = []
    st = _run(mini, lines)
    assert set(st.values()) == {"ran"}
    assert _why(lines, names[0]) == f"inputs changed: {manifest.resolve()}"
    assert _why(lines, names[1]) == "upstream stage changed"

    (images / "dog").mkdir()
    (images / "dog" / "b.jpg").write_bytes(b"y")  # a new class in the downstream dataset
    lines = []
    st = _run(mini, lines)
    assert [st[n] for n in names] == ["cached"] * 4 + ["ran"] * 3
    assert _why(lines, STAGES[3].name) == f"inputs changed: {images.resolve()}"
    assert any(f"] {names[0]}: cached" in line for line in lines)


def test_item4_why_a_stage_ran(mini):
    names = [s.name for s in STAGES]
    _run(mini)
    lines = []
    _run(mini, lines, force=True, stages=[names[0]])
    assert _why(lines, names[0]) == "--force"
    cfg = yaml.safe_load((mini / "configs/smoke.yml").read_text())
    key = next(iter(cfg[STAGES[2].section]))
    value = cfg[STAGES[2].section][key]
    cfg[STAGES[2].section][key] = [v + 1 for v in value] if isinstance(value, list) else value + 1
    (mini / "configs/smoke.yml").write_text(yaml.safe_dump(cfg))
    (mini / "vise_lib").mkdir()
    lines = []
    _run(mini, lines, stages=names[2:3])
    assert _why(lines, names[2]) == f"parameters changed: config.{key}"
    (mini / "vise_lib" / "new.py").write_text("X = 1\n")  # a library change reruns every stage
    lines = []
    st = _run(mini, lines)
    assert set(st.values()) == {"ran"} and _why(lines, names[0]) == "library changed"
    assert {_why(lines, n) for n in names} == {"library changed"}
    res = json.loads((mini / "runs/smoke/pipeline.json").read_text())
    assert res[0]["reason"] == "library changed"


def test_item3_a_stage_that_did_not_finish_is_rerun_and_says_so(mini):
    flag = mini / "kill"
    flag.write_text("")
    _notebook(
        mini / "notebooks" / f"{STAGES[2].name}.ipynb",
        body=f"import pathlib\nassert not pathlib.Path({str(flag)!r}).exists(), 'killed'",
    )
    with pytest.raises(StageFailed):
        _run(mini)
    flag.unlink()
    lines = []
    st = _run(mini, lines)
    assert st[STAGES[2].name] == "ran"
    assert _why(lines, STAGES[2].name).startswith("the last run did not finish")


def test_links_to_pages_a_preset_did_not_build_become_plain_text():
    from vise_lib.run.pipeline import unlink_missing_pages

    text = "see {doc}`_generated/00_world` and {doc}`_generated/20_transfer`, or {doc}`method`"
    out = unlink_missing_pages(text, {"20_transfer"})
    assert out == (
        "see `00_world` (a page this preset does not build) and {doc}`_generated/20_transfer`, or {doc}`method`"
    )
    # between executed notebooks the links are relative; generated pages without a stage number too
    text = "from {doc}`03_downstream` and {doc}`04_ablations`; {doc}`_generated/scaling`; {doc}`../own_data`"
    out = unlink_missing_pages(text, {"03_downstream"})
    assert out == (
        "from {doc}`03_downstream` and `04_ablations` (a page this preset does not build); "
        "`scaling` (a page this preset does not build); {doc}`../own_data`"
    )
