"""The checkpoint and resume module on its own: the loop state round-trips through a checkpoint,
a mismatch names what differs, the choice among checkpoint files and what happens to the rest."""

import dataclasses

import pytest
import torch

from vise_lib.backbones.archs import build_backbone
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.objectives import OBJECTIVES
from vise_lib.pretrain.resume import (
    CKPT_FORMAT,
    PREV_NAME,
    RESUME_FREE,
    Checkpoints,
    LoopState,
    mismatch,
    read_checkpoint,
    run_identity,
)

KEYS = ["format", "cfg", "data", "step", "history", "model", "optimizer", "data_position", "rng", "running"]


def _run(seed=0):
    torch.manual_seed(seed)
    model = build_backbone("small_resnet", width=4)
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def _ids(cfg=None, objective="classify"):
    cfg = cfg or TrainConfig(width=4)
    data = {"n_images": 32, "image_shape": [16, 16, 3], "objective": objective, "world_size": 1}
    return run_identity(cfg, OBJECTIVES[objective]), {**data, "num_classes": [4], "labels_sha1": "ab"}


def test_loop_state_round_trips_through_a_checkpoint(tmp_path, capsys):
    model, opt = _run()
    ident, data = _ids()
    ckpts = Checkpoints(tmp_path, ident, data)
    history = [{"epoch": 1, "step": 4, "loss": 1.5, "accuracy": [0.25]}]
    state = LoopState(step=6, history=history, seconds=1.25, loss=3.5, hits=[2.0], seen=4)
    rng = torch.get_rng_state()
    ckpts.save(LoopState(step=5, history=history, hits=[0.0]), model, opt, steps_per_epoch=4)
    ckpts.save(state, model, opt, steps_per_epoch=4)
    ck, why = read_checkpoint(tmp_path / "checkpoint.pt")
    assert why is None and list(ck) == KEYS  # the self-describing layout, key order included
    assert ck["format"] == CKPT_FORMAT and ck["cfg"] == ident and ck["data"] == data
    assert ck["data_position"] == {"epoch": 1, "batch": 2, "batches_per_epoch": 4}
    assert ck["running"] == (1.25, 3.5, [2.0], 4) and isinstance(ck["running"], tuple)
    assert LoopState.from_checkpoint(ck) == state
    assert read_checkpoint(tmp_path / PREV_NAME)[0]["step"] == 5  # the one it replaced

    fresh, fresh_opt = _run(seed=1)
    torch.manual_seed(99)  # the restore must bring back the saved generator state
    resumed = ckpts.resume(fresh, fresh_opt, total=12)
    assert resumed.state == state and resumed.path == tmp_path / "checkpoint.pt"
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in fresh.state_dict().items())
    assert fresh_opt.state_dict()["param_groups"] == opt.state_dict()["param_groups"]
    assert torch.equal(torch.get_rng_state(), rng)
    assert resumed.info() == {"from": str(tmp_path / "checkpoint.pt"), "step": 6, "messages": resumed.messages}
    assert "[pretrain] resuming from" in capsys.readouterr().out and "at step 6 of 12" in resumed.messages[-1]


def test_other_ranks_start_the_interrupted_epochs_sums_at_zero():
    state = LoopState(step=3, history=[], seconds=2.0, loss=5.0, hits=[1.0, 2.0], seen=8)
    assert state.on_rank(0) is state
    assert state.on_rank(1) == dataclasses.replace(state, loss=0.0, hits=[0.0, 0.0], seen=0)
    assert LoopState.start(2) == LoopState(step=0, history=[], seconds=0.0, loss=0.0, hits=[0.0, 0.0], seen=0)


def test_mismatch_names_the_difference():
    ident, data = _ids()
    ck = {"format": CKPT_FORMAT, "cfg": ident, "data": data}
    assert mismatch(ck, ident, data) is None
    lr, _ = _ids(TrainConfig(width=4, lr=0.2))
    assert mismatch(ck, lr, data) == "parameters changed: lr 0.1 -> 0.2"
    two, _ = _ids(TrainConfig(width=8, epochs=3))
    assert mismatch(ck, two, data) == "parameters changed: epochs 5 -> 3, width 4 -> 8"
    assert "compile" in RESUME_FREE  # torch.compile changes the speed, not the run: it may be switched on a resume
    free = {k: 1 if k != "device" else "cpu" for k in RESUME_FREE}
    assert mismatch(ck, {**ident, **free}, data) is None  # these may change when resuming
    assert (
        mismatch(ck, ident, {**data, "labels_sha1": "cd", "world_size": 2}) == "data changed: labels_sha1, world_size"
    )
    assert mismatch(ck, ident, {**data, "stream": {"workers": 2}}) == "data changed: stream"
    simclr_ident, simclr_data = _ids(objective="simclr")
    assert mismatch(ck, simclr_ident, simclr_data) == "data changed: objective 'classify' -> 'simclr'"
    assert mismatch({**ck, "format": 2}, ident, data) == f"checkpoint format 2 is not {CKPT_FORMAT}"
    assert mismatch(["not", "a", "dict"], ident, data) == f"checkpoint format None is not {CKPT_FORMAT}"


def test_run_identity_holds_the_trained_objectives_own_settings_only():
    cfg = TrainConfig(objectives={"simclr": {"temperature": 0.5}})
    simclr = run_identity(cfg, OBJECTIVES["simclr"])
    assert simclr["simclr.temperature"] == 0.5 and simclr["simclr.proj_dim"] == 64 and "objectives" not in simclr
    assert not any(k.startswith("simclr.") for k in run_identity(cfg, OBJECTIVES["classify"]))
    old = {"format": CKPT_FORMAT, "cfg": run_identity(TrainConfig(), OBJECTIVES["simclr"]), "data": {"objective": "s"}}
    assert mismatch(old, simclr, {"objective": "s"}) == "parameters changed: simclr.temperature 0.2 -> 0.5"


def test_pick_falls_back_to_the_previous_checkpoint_and_sets_the_rest_aside(tmp_path, capsys):
    model, opt = _run()
    ident, data = _ids()
    ckpts = Checkpoints(tmp_path, ident, data)
    assert ckpts.pick().checkpoint is None and ckpts.pick().messages == []
    ckpts.save(LoopState(step=2, hits=[0.0]), model, opt, 4)
    ckpts.save(LoopState(step=3, hits=[0.0]), model, opt, 4)
    (tmp_path / "checkpoint.pt").write_bytes(b"garbage")
    pick = ckpts.pick()
    assert pick.path == tmp_path / PREV_NAME and pick.checkpoint["step"] == 2
    assert pick.aside == [(tmp_path / "checkpoint.pt", "corrupt")]
    assert "not a readable weights-only checkpoint" in pick.messages[0]
    assert "resuming from the previous good checkpoint checkpoint.prev.pt: checkpoint.pt is damaged" in pick.messages
    # another run's checkpoints: both set aside as stale (moved, never deleted), a fresh start
    other = Checkpoints(tmp_path, _ids(TrainConfig(width=4, lr=0.2))[0], data)
    resumed = other.resume(model, opt, total=8)
    assert resumed.state is None and resumed.info()["step"] == 0 and resumed.path is None
    assert "starting fresh from step 0" in resumed.messages[-1]
    assert len(list(tmp_path.glob("checkpoint.corrupt-*.pt"))) == 1
    assert len(list(tmp_path.glob("checkpoint.prev.stale-*.pt"))) == 1
    assert not (tmp_path / "checkpoint.pt").exists() and not (tmp_path / PREV_NAME).exists()
    assert other.resume(model, opt, total=8).messages == [f"no checkpoint in {tmp_path}: starting from step 0"]


def test_read_checkpoint_refuses_a_pickle_that_carries_code(tmp_path):
    torch.save({"format": CKPT_FORMAT, "payload": pytest.approx(1.0)}, tmp_path / "evil.pt")
    ck, why = read_checkpoint(tmp_path / "evil.pt")
    assert ck is None and why.startswith("not a readable weights-only checkpoint (")
