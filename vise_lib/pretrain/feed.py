"""From a data source's batches to the training device: copy, normalize, lay out.

A source hands the loop prepared batches on the host: uint8 ``(B, 3, H, W)`` images in
channels_last memory for the classification objectives (float views for SimCLR), in pinned
memory on a CUDA run, and int64 labels. :func:`on_device` moves each to the device and lets
the objective finish it there (:meth:`~vise_lib.pretrain.objectives.base.Objective.finish`:
uint8 to normalized float32), in the model's memory format.

On CUDA the copy is asynchronous: the images *and* the labels are copied ``non_blocking`` and
normalized on a side stream, one batch ahead, so the copy of batch ``i + 1`` runs while batch
``i`` trains; the training stream waits for that batch's event (no host synchronization). On
the CPU the same steps run in order, and the result is value for value what normalizing in the
worker gave (the CPU study's batches do not change).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator

import torch

from vise_lib.pretrain.sources import Batch

Finish = Callable[[torch.Tensor], torch.Tensor]


def on_device(
    batches: Iterator[Batch], device: torch.device, memory_format: torch.memory_format, finish: Finish
) -> Generator[Batch, None, None]:
    """Yield ``(x, ys)`` of ``batches`` on ``device``: ``x`` as ``finish(x)`` in ``memory_format``.

    ``batches`` is a source's generator; closing this one closes it (the loop stops an epoch
    early that way).
    """
    try:
        if device.type == "cuda":
            yield from _cuda(batches, device, memory_format, finish)
        else:
            for x, ys in batches:
                yield finish(x.to(device)).contiguous(memory_format=memory_format), [y.to(device) for y in ys]
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def _cuda(
    batches: Iterator[Batch], device: torch.device, memory_format: torch.memory_format, finish: Finish
) -> Generator[Batch, None, None]:
    side = torch.cuda.Stream(device)

    def upload(x: torch.Tensor, ys: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor], torch.cuda.Event]:
        with torch.cuda.stream(side):
            x = x.to(device, non_blocking=True).contiguous(memory_format=memory_format)
            ys = [y.to(device, non_blocking=True) for y in ys]
            x = finish(x).contiguous(memory_format=memory_format)
            done = torch.cuda.Event()
            done.record(side)
        return x, ys, done

    it = iter(batches)
    first = next(it, None)
    if first is None:
        return
    ahead: tuple[torch.Tensor, list[torch.Tensor], torch.cuda.Event] | None = upload(*first)
    while ahead is not None:
        x, ys, done = ahead
        following = next(it, None)
        ahead = None if following is None else upload(*following)  # copies while x trains
        main = torch.cuda.current_stream(device)
        main.wait_event(done)
        for t in (x, *ys):
            t.record_stream(main)  # made on the side stream, used on the training stream
        yield x, ys
