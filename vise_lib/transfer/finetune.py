"""Fine-tuning protocol: the whole backbone plus a linear head, trained end to end.

Ours, kept deliberately compact: SGD (momentum 0.9, weight decay 5e-4) with a cosine learning
rate over a few epochs, batch augmentation by :func:`vise_lib.backbones.tensors.augment` (random crop with
reflect padding of 1/8 of the image side, horizontal flip), cross-entropy (or per-class binary
cross-entropy for multi-label tasks). Hyper-parameters are fixed, not tuned on validation;
multi-label thresholds are chosen on validation, as in the linear probe. Deterministic in
``seed`` on CPU (head initialisation, batch order and augmentation all come from it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vise_lib.backbones.archs import MultiHeadClassifier
from vise_lib.backbones.tensors import as_nchw, augment, check_images, iterate_batches, normalized, to_tensor
from vise_lib.transfer.probes import best_thresholds, classification_metrics, multilabel_metrics


def _predict(model, images, batch_size, device):
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            x = to_tensor(images[start : start + batch_size]).to(device)
            out.append(model(x)[0].float().cpu())
    return torch.cat(out)


def finetune(
    backbone,
    train,
    val,
    test,
    n_classes: int,
    multilabel: bool = False,
    epochs: int = 3,
    lr: float = 0.01,
    batch_size: int = 64,
    weight_decay: float = 5e-4,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> dict:
    """Fine-tune ``backbone`` + a linear head on ``train``; score on ``val`` and ``test``.

    Args:
        backbone: a trunk in the official layout (it is trained in place).
        train, val, test: ``(images uint8 (N, H, W, 3), labels)`` pairs; labels ``(N,)`` ints,
            or ``(N, K)`` 0/1 when ``multilabel``.
        n_classes: number of classes (outputs of the head).
        epochs, lr, batch_size, weight_decay: the SGD schedule (cosine decay to 0).
        seed: seeds the head, the batch order and the augmentation.
        device: ``None`` picks CUDA when available.

    Returns ``{"best_C": None, "epochs", "history": [{"epoch", "loss", "val"}], "val": metrics,
    "test": metrics, "n_classes"}`` with the metrics of :func:`classification_metrics` (or
    :func:`multilabel_metrics`, thresholds chosen on val, in ``"thresholds"``).
    """
    for name, (x, y) in (("train", train), ("val", val), ("test", test)):
        check_images(x, f"{name} images")
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(f"{name}: {len(x)} images but {len(y)} labels (need N > 0)")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(seed)
    model = MultiHeadClassifier(backbone, [n_classes]).to(device)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    xtr, ytr = train
    ytr_t = torch.as_tensor(np.asarray(ytr), dtype=torch.float32 if multilabel else torch.int64)
    pad = max(1, min(xtr.shape[1], xtr.shape[2]) // 8)
    steps = epochs * math.ceil(len(xtr) / batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        total, count = 0.0, 0
        for idx in iterate_batches(len(xtr), batch_size, gen, shuffle=True):
            if len(idx) < 2:  # BatchNorm needs more than one sample per batch in training
                continue
            x = normalized(augment(as_nchw(xtr[idx.numpy()]), gen, pad=pad)).to(device)  # crop + flip uint8
            logits = model(x)[0]
            target = ytr_t[idx].to(device)
            loss = F.binary_cross_entropy_with_logits(logits, target) if multilabel else F.cross_entropy(logits, target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total, count = total + loss.item() * len(idx), count + len(idx)
        val_out = _predict(model, val[0], 256, device)
        score = (
            float(np.mean((torch.sigmoid(val_out).numpy() >= 0.5) == np.asarray(val[1])))
            if multilabel
            else float(np.mean(val_out.argmax(1).numpy() == np.asarray(val[1])))
        )
        history.append({"epoch": epoch, "loss": total / max(count, 1), "val": score})
    val_out, test_out = _predict(model, val[0], 256, device), _predict(model, test[0], 256, device)
    result: dict[str, Any] = {"best_C": None, "epochs": epochs, "history": history, "n_classes": n_classes}
    if multilabel:
        sv, st = torch.sigmoid(val_out).numpy(), torch.sigmoid(test_out).numpy()
        th = best_thresholds(np.asarray(val[1]), sv)
        result.update(
            thresholds=th.tolist(), val=multilabel_metrics(val[1], sv, th), test=multilabel_metrics(test[1], st, th)
        )
    else:
        result.update(
            val=classification_metrics(np.asarray(val[1]), val_out.argmax(1).numpy(), n_classes),
            test=classification_metrics(np.asarray(test[1]), test_out.argmax(1).numpy(), n_classes),
        )
    return result
