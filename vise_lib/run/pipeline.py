"""Run the study: execute the stage notebooks with papermill, then build the book.

Each stage is skipped when its cache key is unchanged. The key hashes the notebook source,
the stage's parameters, a fingerprint of its input files, the library's source and the key of
the stage before it, so changing one parameter or one input file reruns that stage and
everything downstream of it, and nothing upstream.

Input files are the parameters that name an existing file or folder (:func:`input_paths`: any
string value, nested anywhere in the stage's parameters, outside the run folder). A file's
fingerprint is the SHA-256 of its content, a folder's that of every file's relative path and
content (:func:`vise_lib.io.file_digest`, :func:`vise_lib.io.tree_digest`: hashed once per
version of a file, so touching a file reruns nothing and changed pixels rerun the stage). The run
folder's own location is not part of any key (:func:`portable_params`): moving ``--out`` reruns
nothing. ``vise run`` prints why each stage ran: no cached result, the last run did not finish,
``--force``, notebook changed, parameters changed (naming them), inputs changed (naming them),
library changed, an upstream stage changed, or one of its results files fails its check
(truncated or edited since: :func:`vise_lib.io.verify_check`).

One run at a time holds a run folder (:class:`vise_lib.run.run_lock.RunLock`). Each stage's kernel
is shut down when its notebook ends, and exits by itself if ``vise run`` dies; the book build is
ended with its parent too, and a build that did not finish is not trusted: the next build first
clears what it left (:func:`build_book`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from vise_lib.io import atomic_write_text, checked_outputs, file_digest, tree_digest, verify_check
from vise_lib.run.book_pages import write_book_pages
from vise_lib.run.book_pdf import build_pdf
from vise_lib.run.presets import REPO_ROOT, Stage, load_preset, preset_path, preset_stages, stage_parameters
from vise_lib.run.run_lock import RunLock

KERNEL_NAME = "vise-venv"


class StageFailed(RuntimeError):
    """A notebook raised: the message names the notebook and the failing cell."""


@dataclass
class StageResult:
    stage: str
    status: str  # "ran" | "cached" | "failed"
    seconds: float
    reason: str = ""  # why it ran (see the module docstring); "" when it did not


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def library_hash(root: Path = REPO_ROOT) -> str:
    """Hash of the whole package's source (every subpackage): a code change invalidates every stage."""
    h = hashlib.sha256()
    pkg = root / "vise_lib"
    for p in sorted(pkg.rglob("*.py")):
        h.update(p.relative_to(pkg).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def input_paths(params, run_dir: Path, cwd: Path, root: Path = REPO_ROOT) -> list[Path]:
    """The existing files and folders that ``params`` names (every string value, nested in
    mappings and lists; relative ones against the notebook's working folder ``cwd`` and ``root``),
    except the run folder, anything inside it, and folders that contain it."""
    found: dict[Path, None] = {}
    run_dir = Path(run_dir).resolve()

    def visit(v):
        if isinstance(v, dict):
            for x in v.values():
                visit(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                visit(x)
        elif isinstance(v, str) and v.strip() and v.strip() != "." and "\n" not in v and len(v) < 4096:
            p = Path(v).expanduser()
            for cand in [p] if p.is_absolute() else [cwd / p, root / p]:
                try:
                    if not cand.exists():
                        continue
                    real = cand.resolve()
                except (OSError, ValueError):
                    continue
                if real == run_dir or run_dir in real.parents or real in run_dir.parents:
                    continue
                found[real] = None
                break

    visit(params)
    return sorted(found)


def fingerprint(path: Path) -> str:
    """The content of an input: ``file:<SHA-256>`` of a file, ``tree:<SHA-256>`` of a folder
    (every file's relative path and content), each computed once per version of the file."""
    return f"file:{file_digest(path)}" if path.is_file() else f"tree:{tree_digest(path)}"


RUN_DIR_TOKEN = "$RUN_DIR"


def portable_params(params, run_dir: Path):
    """``params`` with the run folder's absolute path written as :data:`RUN_DIR_TOKEN` (in every
    string, nested), what the cache key hashes: a run folder moved elsewhere keeps its keys."""
    prefix = str(run_dir)
    if isinstance(params, dict):
        return {k: portable_params(v, run_dir) for k, v in params.items()}
    if isinstance(params, (list, tuple)):
        return [portable_params(v, run_dir) for v in params]
    if isinstance(params, str) and (params == prefix or params.startswith(prefix + os.sep)):
        return RUN_DIR_TOKEN + params[len(prefix) :]
    return params


def failed_output(run_dir: Path, outputs: list[str], stage: str) -> str | None:
    """Why a cached stage's results files cannot be trusted (the first that fails its check), or None."""
    for rel in outputs:
        try:
            verify_check(run_dir / rel, stage)
        except (OSError, ValueError) as e:
            return str(e).split(": run the stage")[0]
    return None


def stage_parts(
    stage: Stage, params: dict, upstream_key: str, lib_hash: str, inputs: dict[str, str], root: Path = REPO_ROOT
) -> dict:
    """What a stage's cache key is made of: notebook, parameters, input fingerprints, library, upstream."""
    nb = (root / stage.notebook).read_bytes()
    return {
        "nb": _sha(nb),
        "params": _sha(json.dumps(params, sort_keys=True).encode()),
        "inputs": inputs,
        "lib": lib_hash,
        "up": upstream_key,
    }


def _changed_params(old: dict, new: dict) -> list[str]:
    keys = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            keys += [f"{k}.{x}" for x in _changed_params(a, b)]
        elif a != b:
            keys.append(k)
    return keys


def why_run(prev: dict | None, parts: dict, params: dict, force: bool, unfinished: bool) -> str:
    """Why a stage runs, from its previous state (``None``: none) and its new key parts."""
    if force:
        return "--force"
    if prev is None:
        return "the last run did not finish (checkpointing stages resume)" if unfinished else "no cached result"
    old = prev.get("parts")
    if not old:
        return "cache from an older version of the pipeline"
    if old.get("nb") != parts["nb"]:
        return "notebook changed"
    if old.get("params") != parts["params"]:
        changed = _changed_params(prev.get("params") or {}, params)
        return "parameters changed" + (f": {', '.join(changed)}" if changed else "")
    if old.get("inputs") != parts["inputs"]:
        a, b = old.get("inputs") or {}, parts["inputs"]
        changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        return "inputs changed: " + ", ".join(changed)
    if old.get("lib") != parts["lib"]:
        return "library changed"
    if old.get("up") != parts["up"]:
        return "upstream stage changed"
    return "its executed notebook is missing"


def ensure_kernel(name: str = KERNEL_NAME) -> str:
    """Make sure this interpreter is registered as the jupyter kernel ``name``."""
    from jupyter_client.kernelspec import KernelSpecManager

    if name not in KernelSpecManager().find_kernel_specs():
        from ipykernel.kernelspec import install

        install(kernel_name=name, display_name="VisE companion (.venv)", prefix=sys.prefix)
    return name


def execute_stage(
    stage: Stage, params: dict, out_nb: Path, root: Path = REPO_ROOT, expected_seconds: float | None = None
) -> None:
    """Execute one notebook with papermill (explicit kernel and working directory).

    On a terminal a progress bar counts the executed cells (with the last run's duration as
    the estimate, when there is one); elsewhere (CI logs) it stays silent. The kernel talks to
    papermill over IPC sockets in a private temporary folder, not TCP, and logs only critical
    messages to the terminal (the notebook's own output goes into the notebook).
    """
    import tempfile

    import papermill as pm
    from jupyter_client.manager import KernelManager
    from papermill.exceptions import PapermillExecutionError

    out_nb.parent.mkdir(parents=True, exist_ok=True)
    desc = stage.name + (f" (last run {expected_seconds:.0f} s)" if expected_seconds else "")
    with tempfile.TemporaryDirectory(prefix="vise-kernel-") as ipc:
        km = KernelManager(kernel_name=ensure_kernel(), transport="ipc", ip=str(Path(ipc) / "k"))
        interrupted = []

        def on_sigint(signum, frame):  # Ctrl-C: end the kernel now, then stop (papermill alone hangs)
            interrupted.append(signum)
            _kill_kernel(km)
            raise KeyboardInterrupt

        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, on_sigint) if main_thread else None
        try:
            pm.execute_notebook(
                str(root / stage.notebook),
                str(out_nb),
                parameters=params,
                kernel_name=km.kernel_name,
                km=km,
                # the kernel exits by itself when this process dies (kill -9 included)
                extra_arguments=["--IPKernelApp.log_level=CRITICAL", f"--IPKernelApp.parent_handle={os.getpid()}"],
                cwd=str(out_nb.parent),
                progress_bar={"desc": desc, "leave": False, "disable": None},
                log_output=False,
            )
        except PapermillExecutionError as e:
            if interrupted:
                raise KeyboardInterrupt from None
            os_error = notebook_os_error(e.ename, e.evalue)
            if os_error is not None:  # the disk, not the stage: one line naming the path (tools.guard)
                raise os_error from None
            first_line = (e.source or "").strip().splitlines()[:1]
            raise StageFailed(
                f"stage {stage.name} failed in {stage.notebook}, cell {e.cell_index} "
                f"(execution count {e.exec_count}{': ' + first_line[0] if first_line else ''}): "
                f"{e.ename}: {e.evalue}\n  executed notebook with the traceback: {out_nb}"
            ) from None
        except Exception:
            if interrupted:  # the kernel was ended by Ctrl-C: whatever papermill made of that
                raise KeyboardInterrupt from None
            raise
        finally:  # papermill leaves a kernel it was handed running: shut it down with its stage
            if main_thread:
                signal.signal(signal.SIGINT, previous)
            if interrupted:  # papermill's loop still holds a task polling the dead kernel: no shutdown_kernel
                _kill_kernel(km)
            elif km.has_kernel:
                km.shutdown_kernel(now=True)

    hide_injected_parameters(out_nb)


def hide_injected_parameters(nb_path: Path) -> None:
    """Tag the cell papermill injected (``injected-parameters``: the run's parameters, ``run_dir``
    as an absolute path of the machine that ran it) ``remove-cell``, so the book shows no machine
    path; the notebook keeps it for anyone who opens the ``.ipynb``."""
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    changed = False
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
            changed = True
    if changed:
        atomic_write_text(nb_path, nbformat.writes(nb))


def _kill_kernel(km) -> None:
    """End a stage's kernel process at once and reap it."""
    proc = getattr(getattr(km, "provisioner", None), "process", None)
    if proc is not None and proc.poll() is None:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(10)


OS_ERROR_TEXT = re.compile(r"^\[Errno (\d+)\] (.*?)(?:: '(.*)')?$")
OS_ERROR_NAMES = {"OSError", "PermissionError", "IOError", "FileExistsError", "IsADirectoryError"}


def notebook_os_error(ename: str, evalue: str) -> OSError | None:
    """The ``OSError`` a notebook's cell raised, rebuilt from its name and text (``[Errno 28] No
    space left on device: '/path'``), or None when the cell raised something else."""
    m = OS_ERROR_TEXT.match(evalue or "")
    if ename not in OS_ERROR_NAMES or m is None:
        return None
    code, text, path = int(m.group(1)), m.group(2), m.group(3)
    return OSError(code, text, path) if path else OSError(code, text)


ANSWER_PAGE = "20_transfer"  # the page a real-data evaluation's book opens on


def book_toc(root: Path, gen: Path) -> str:
    """The root ``_toc.yml`` without the generated pages this preset did not produce; a book of
    a real-data evaluation (``20_transfer`` built, the world not) opens on that page, its answer,
    with the introduction moved to the first chapter."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    have = {p.stem for p in gen.iterdir()} if gen.is_dir() else set()

    def keep(entry: dict) -> bool:
        f = entry.get("file", "")
        return not f.startswith("book/_generated/") or Path(f).name in have

    for part in toc.get("parts", []):
        part["chapters"] = [c for c in part.get("chapters", []) if keep(c)]
    toc["parts"] = [p for p in toc.get("parts", []) if p["chapters"]]
    if ANSWER_PAGE in have and "00_world" not in have:  # a real-data evaluation: open on its answer
        answer = f"book/_generated/{ANSWER_PAGE}"
        for part in toc["parts"]:
            part["chapters"] = [c for c in part["chapters"] if c.get("file") != answer]
        if toc["parts"]:
            toc["parts"][0]["chapters"].insert(0, {"file": toc["root"]})
        toc["root"] = answer
        toc["parts"] = [p for p in toc["parts"] if p["chapters"]]
    return yaml.safe_dump(toc, sort_keys=False)


# {doc} links to generated pages: `_generated/X` from the hand-written pages, `NN_stage` between notebooks
GENERATED_LINK = re.compile(r"\{doc\}`(?:_generated/)?(\d\d_[\w.-]+)`|\{doc\}`_generated/([\w.-]+)`")


def unlink_missing_pages(text: str, present: set[str]) -> str:
    """``{doc}`` links to generated pages this preset did not build, as plain text saying so (the
    pages link the world study's stages to each other; a real-data preset builds other stages)."""

    def plain(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        return m.group(0) if name in present else f"`{name}` (a page this preset does not build)"

    return GENERATED_LINK.sub(plain, text)


def stage_book_source(preset: str, root: Path = REPO_ROOT, out_root: Path | None = None) -> Path:
    """Lay out the book source of one preset under ``_build/<preset>/src``.

    The repository's ``_config.yml``, ``_toc.yml`` (less the generated pages this preset did
    not produce) and ``book/`` pages are copied (keeping modification times, so Sphinx
    rebuilds only what changed) next to the preset's executed notebooks and generated pages,
    which land in ``book/_generated/``. Every preset thus builds the same book from its own
    notebooks, and presets never overwrite each other. In the pages (hand-written and executed),
    links to generated pages this preset did not produce become plain text
    (:func:`unlink_missing_pages`), so every preset's book builds with ``--strict``.
    """
    out_root = out_root or root
    src = out_root / "_build" / preset / "src"
    gen = out_root / "book" / "_generated" / preset
    wanted: dict[Path, Path] = {src / "_config.yml": root / "_config.yml"}
    for f in (root / "book").rglob("*"):
        rel = f.relative_to(root)
        if f.is_file() and "_generated" not in rel.parts:
            wanted[src / rel] = f
    generated = [*gen.glob("*.ipynb"), *gen.glob("*.md")]
    for nb in generated:
        wanted[src / "book" / "_generated" / nb.name] = nb
    wanted[src / "vise_lib" / "recipe.py"] = root / "vise_lib" / "recipe.py"  # the Method page shows it
    present = {nb.stem for nb in generated}
    for dst, origin in wanted.items():
        dst.parent.mkdir(parents=True, exist_ok=True)
        if origin.suffix in (".md", ".ipynb") and origin.parent.name in ("book", preset):  # pages that link
            text = unlink_missing_pages(origin.read_text(), present)
            if not dst.exists() or dst.read_text() != text:  # unchanged pages keep their mtime
                atomic_write_text(dst, text)
        elif not dst.exists() or dst.stat().st_mtime != origin.stat().st_mtime:
            shutil.copy2(origin, dst)
    toc = book_toc(root, gen)
    if not (src / "_toc.yml").exists() or (src / "_toc.yml").read_text() != toc:
        atomic_write_text(src / "_toc.yml", toc)
    wanted[src / "_toc.yml"] = root / "_toc.yml"
    for f in list(src.rglob("*")):
        if f.is_file() and "_build" not in f.relative_to(src).parts and f not in wanted:
            f.unlink()
    return src


INCOMPLETE = ".build-incomplete"  # in _build/<preset>/ while a book build runs
BUILD_PARTS = ("jupyter_execute", "html", ".doctrees")  # what a build writes under _build/<preset>/_build/


def clear_failed_build(out: Path, echo=print) -> list[Path]:
    """When the last build under ``out`` (``_build/<preset>``) did not finish (its
    :data:`INCOMPLETE` marker is there: it failed, ran out of disk or was killed), remove what
    it wrote (:data:`BUILD_PARTS`): Sphinx and myst-nb keep an existing file, so a figure cut by
    a full disk would otherwise stay in the published book. Returns what it removed."""
    if not (out / INCOMPLETE).exists():
        return []
    gone = [out / "_build" / part for part in BUILD_PARTS if (out / "_build" / part).exists()]
    if gone:
        echo(f"[vise] book: the last build in {out} did not finish: rebuilding from scratch")
    for path in gone:
        shutil.rmtree(path)
    return gone


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass


def build_book(
    preset: str,
    strict: bool = False,
    root: Path = REPO_ROOT,
    out_root: Path | None = None,
    echo=print,
    pdf: bool = True,
) -> Path:
    """Build the jupyter-book (1.x, ``execute_notebooks: off``) for a preset; returns index.html.
    With ``pdf``, the book is first printed to ``vise-companion.pdf`` (:mod:`vise_lib.run.book_pdf`),
    which the HTML build places next to index.html and links from every page.

    The build runs as a child that ends with this process (Linux: ``PR_SET_PDEATHSIG``). A
    marker file says a build is under way; a build that fails (or is killed) leaves it, and the
    next build first clears what that one left (:func:`clear_failed_build`)."""
    jb = Path(sys.executable).with_name("jupyter-book")
    exe = [str(jb)] if jb.exists() else [shutil.which("jupyter-book") or "jupyter-book"]
    out = (out_root or root) / "_build" / preset
    clear_failed_build(out, echo)
    src = stage_book_source(preset, root, out_root)
    atomic_write_text(out / INCOMPLETE, f"{os.getpid()}\n")
    if pdf:
        build_pdf(src, out, exe, strict=strict)
    cmd = exe + ["build", str(src), "--path-output", str(out)]
    if strict:
        cmd += ["-W", "--keep-going"]
    proc = subprocess.run(
        cmd,
        cwd=root,
        capture_output=True,
        text=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise RuntimeError(f"jupyter-book build failed for preset {preset!r}:\n{tail}")
    index = out / "_build" / "html" / "index.html"
    if not index.exists():
        raise RuntimeError(f"jupyter-book reported success but {index} is missing")
    (out / INCOMPLETE).unlink()
    return index


def run(
    preset: str = "default",
    stages: list[str] | None = None,
    force: bool = False,
    book: bool = True,
    strict: bool = False,
    root: Path = REPO_ROOT,
    out_root: Path | None = None,
    echo=print,
) -> list[StageResult]:
    """Execute the preset's stages in order (skipping cached ones) and build the book.

    ``root`` holds the notebooks, presets and book pages; ``out_root`` (default: ``root``)
    receives ``runs/<preset>/``, ``book/_generated/<preset>/`` and ``_build/<preset>/``.
    """
    cfg = load_preset(preset, root)
    plan = preset_stages(cfg)
    name = preset_path(preset, root).stem
    out_root = Path(out_root or root)
    run_dir = (out_root / "runs" / name).resolve()
    gen_dir = out_root / "book" / "_generated" / name
    state_dir = run_dir / ".pipeline"
    lib = library_hash(root)
    wanted = set(stages or [s.name for s in plan])
    unknown = wanted - {s.name for s in plan}
    if unknown:
        raise ValueError(f"unknown stage(s) {sorted(unknown)}; this preset's stages are {[s.name for s in plan]}")

    with RunLock(run_dir, echo):
        return _run_locked(
            plan, cfg, name, run_dir, gen_dir, state_dir, lib, wanted, force, book, strict, root, out_root, echo
        )


def _run_locked(plan, cfg, name, run_dir, gen_dir, state_dir, lib, wanted, force, book, strict, root, out_root, echo):
    """The body of :func:`run`, with the run folder's lock held."""
    results: list[StageResult] = []
    upstream = ""
    for stage in plan:
        params = stage_parameters(cfg, stage, name, run_dir)
        key_params = portable_params(params, run_dir)
        out_nb = gen_dir / f"{stage.name}.ipynb"
        inputs = {str(p): fingerprint(p) for p in input_paths(params, run_dir, out_nb.parent, root)}
        parts = stage_parts(stage, key_params, upstream, lib, inputs, root)
        key = _sha(json.dumps(parts, sort_keys=True).encode())
        upstream = key
        state = state_dir / f"{stage.name}.json"
        running = state_dir / f"{stage.name}.running.json"
        prev = json.loads(state.read_text()) if state.exists() else None
        same = out_nb.exists() and prev is not None and prev.get("key") == key
        # a finished stage whose results files fail their check reruns, even when not asked for
        damaged = failed_output(run_dir, prev.get("outputs") or [], stage.name) if same and prev else None
        cached = same and not force and not damaged
        if (cached or stage.name not in wanted) and not damaged:
            results.append(StageResult(stage.name, "cached" if cached else "skipped", 0.0))
            if cached:
                echo(f"[vise] {stage.name}: cached (notebook, parameters, inputs and library unchanged)")
            continue
        unfinished = running.exists() and json.loads(running.read_text()).get("key") == key
        reason = (
            f"its results file fails its check: {damaged}"
            if damaged
            else why_run(
                prev and {**prev, "params": prev.get("key_params", prev.get("params"))},
                parts,
                key_params,
                force,
                unfinished,
            )
        )
        echo(f"[vise] {stage.name}: executing {stage.notebook} -> {out_nb} (why: {reason})")
        previous = prev.get("seconds") if prev else None
        state.unlink(missing_ok=True)
        atomic_write_text(running, json.dumps({"key": key}))
        t0 = time.perf_counter()
        try:
            execute_stage(stage, params, out_nb, root, expected_seconds=previous)
        except StageFailed:
            results.append(StageResult(stage.name, "failed", time.perf_counter() - t0, reason))
            echo(timing_table(results))
            raise
        dt = time.perf_counter() - t0
        outputs = [p.relative_to(run_dir).as_posix() for p in checked_outputs(run_dir, stage.name)]
        record = {"key": key, "seconds": dt, "params": params, "key_params": key_params, "parts": parts}
        atomic_write_text(state, json.dumps({**record, "reason": reason, "outputs": outputs}, indent=1))
        running.unlink(missing_ok=True)
        results.append(StageResult(stage.name, "ran", dt, reason))

    states = {
        s.name: json.loads((state_dir / f"{s.name}.json").read_text())
        for s in plan
        if (state_dir / f"{s.name}.json").exists()
    }
    write_book_pages(gen_dir, name, plan, states, results, root=root, run_dir=run_dir)
    if book:
        t0 = time.perf_counter()
        index = build_book(name, strict=strict, root=root, out_root=out_root, echo=echo)
        results.append(StageResult("book", "built", time.perf_counter() - t0))
        echo(timing_table(results))
        echo(f"[vise] book: {index}")
    else:
        echo(timing_table(results))
    atomic_write_text(run_dir / "pipeline.json", json.dumps([r.__dict__ for r in results], indent=1))
    return results


def timing_table(results: list[StageResult]) -> str:
    rows = [f"{'stage':<28} {'status':<8} {'seconds':>8}"]
    rows += [f"{r.stage:<28} {r.status:<8} {r.seconds:>8.1f}" for r in results]
    rows.append(f"{'total':<28} {'':<8} {sum(r.seconds for r in results):>8.1f}")
    return "\n".join(rows)
