"""Timing contenders side by side: the same training step fed by each, in alternating rounds.

Used by ``loader.py`` and ``shards.py``. Each contender runs once per round, the order reversed
every other round, so slow drifts of the machine hit all alike. A contender's rate is its best
round (as ``timeit`` takes the best of its repeats): another process starting or stopping
mid-run slows some rounds of every contender instead of tipping the ratio. The mean over rounds
is returned too, and the benchmarks print both; :func:`paired_ratio` compares two contenders
round by round.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Mapping


def race(
    feeds: Mapping[str, Callable[[int], Iterable]], step: Callable, rounds: int, images_per_round: int
) -> tuple[dict[str, float], dict[str, float], dict[str, list[float]]]:
    """Run every feed (``name -> feed(round)``, an iterable of ``step``'s argument tuples) through
    ``step`` once per round; prints each round's img/s and returns ``(best-round img/s, mean
    img/s, seconds of each round)`` per name."""
    times: dict[str, list[float]] = {k: [] for k in feeds}
    names = list(feeds)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            t0 = time.perf_counter()
            for args in feeds[name](r):
                step(*args)
            times[name].append(time.perf_counter() - t0)
            print(f"  round {r} {name:>16}: {images_per_round / times[name][-1]:8.1f} img/s", flush=True)
    best = {k: images_per_round / min(v) for k, v in times.items()}
    mean = {k: images_per_round * len(v) / sum(v) for k, v in times.items()}
    return best, mean, times


def paired_ratio(times: Mapping[str, list[float]], name: str, reference: str) -> float:
    """Median over rounds of ``name``'s rate over ``reference``'s in the same round: the two ran
    back to back, so a slow phase of the machine hits both, and one odd round cannot tip it."""
    return statistics.median(r / t for t, r in zip(times[name], times[reference], strict=True))


def print_rates(title: str, best: Mapping[str, float], mean: Mapping[str, float]) -> None:
    """The human-readable lines before a benchmark's ``BENCH`` line."""
    print(title)
    for k, v in best.items():
        print(f"  {k:>16}: {v:8.1f} img/s best round, {mean[k]:8.1f} mean")
