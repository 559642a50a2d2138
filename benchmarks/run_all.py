"""Run every benchmark script, print its output, and store its BENCH line for the book.

Each ``benchmarks/<name>.py`` ends with one ``BENCH <name> key=value ...`` line. This runner
executes them one after another (so they don't compete for the cores), and writes
``benchmarks/results/<name>.json`` with the line, its parsed values, the machine and the date;
the book's Performance page shows the latest results.

    .venv/bin/python benchmarks/run_all.py [name ...] [-- extra args passed to each script]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# scripts that write their own results file (gpu_check.py: results/gpu.json, figure by figure) and
# need a GPU: run only where torch sees one (make gpu-check runs it on a GPU machine)
SELF_RECORDING = {"gpu_check": "gpu"}


def has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}"


def parse(line: str) -> dict:
    fields = line.split()[2:]
    out = {}
    for f in fields:
        k, _, v = f.partition("=")
        try:
            out[k] = float(v) if any(c in v for c in ".e") else int(v)
        except ValueError:
            out[k] = v
    return out


def main(argv: list[str]) -> int:
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    names = [a for a in argv if not a.startswith("-")]
    scripts = [HERE / f"{n}.py" for n in names] or sorted(p for p in HERE.glob("*.py") if p.name != "run_all.py")
    (HERE / "results").mkdir(exist_ok=True)
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        if script.stem in SELF_RECORDING and not has_cuda():
            print(f"not run: no CUDA device (results/{SELF_RECORDING[script.stem]}.json left as it is)")
            continue
        proc = subprocess.run([sys.executable, str(script), *extra], capture_output=True, text=True)
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr[-4000:])
        bench = [line for line in proc.stdout.splitlines() if line.startswith("BENCH ")]
        if proc.returncode != 0 or not bench:
            failed.append(script.name)
            continue
        line = bench[-1]
        if script.stem in SELF_RECORDING:
            continue  # it wrote its results file itself
        (HERE / "results" / f"{script.stem}.json").write_text(
            json.dumps(
                {
                    "name": line.split()[1],
                    "line": line,
                    "values": parse(line),
                    "machine": machine(),
                    "date": dt.date.today().isoformat(),
                },
                indent=1,
            )
            + "\n"
        )
    if failed:
        print(f"benchmarks without a BENCH line or failing: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
