"""The package's shape: the public API resolves, no import cycles, no private names cross modules."""

import ast
import importlib
from pathlib import Path

import pytest

import vise_lib

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "vise_lib"


def _modules() -> dict[str, Path]:
    mods = {}
    for p in PKG.rglob("*.py"):
        name = ".".join(p.relative_to(ROOT).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = p
    return mods


def _imports(mods: dict[str, Path], name: str):
    """(imported vise_lib module, imported names) pairs of one module, relative imports resolved."""
    path = mods[name]
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            if base.startswith("vise_lib"):
                for a in node.names:
                    yield (f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base), a.name
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("vise_lib"):
                    yield a.name, None


def test_public_api_resolves():
    for name in vise_lib.__all__:
        assert getattr(vise_lib, name) is not None, name
    with pytest.raises(AttributeError):
        vise_lib.no_such_name  # noqa: B018


def test_static_view_of_the_api_matches_the_lazy_one():
    """The ``TYPE_CHECKING`` imports that type checkers read are exactly the names ``vise_lib`` serves."""
    tree = ast.parse((PKG / "__init__.py").read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    static = {a.name: node.module for node in block.body if isinstance(node, ast.ImportFrom) for a in node.names}
    assert sorted(static) == vise_lib.__all__
    for name, module in static.items():
        assert hasattr(importlib.import_module(module), name), f"{module} has no {name}"


def test_no_import_cycles_between_modules():
    mods = _modules()
    graph = {m: {t for t, _ in _imports(mods, m) if t in mods and t != m} for m in mods}
    # a package importing its own submodules (its __init__ re-exporting them) is not a cycle
    graph = {
        m: {t for t in ts if not (mods[m].name == "__init__.py" and t.startswith(m + "."))} for m, ts in graph.items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in graph[m]:
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack[stack.index(t) :], t]))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


# The library's layers, lowest first. A module may import its own package and any package of a
# lower layer, never one of a higher layer (function-level imports included): data flows up,
# from the floor (files, configs, tool guard, verdicts) through the method's rooms to the study,
# the stage runners (``stages``) and the ``vise`` command. ``vise_lib/__init__.py`` (the lazy
# public API) sits above them all.
LAYERS = (
    ("io", "config", "tools"),
    ("verdicts",),
    ("world", "backbones"),
    ("engagement",),
    ("labels",),
    ("pretrain",),
    ("transfer",),
    ("recipe",),
    ("study",),
    ("stages",),
    ("run",),
)


def _room(module: str) -> str:
    """The first name under ``vise_lib`` (a subpackage or a top-level module); ``""`` for the API."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _package_edges() -> dict[str, set[str]]:
    mods = _modules()
    edges: dict[str, set[str]] = {}
    for m in mods:
        if _room(m):
            edges.setdefault(_room(m), set()).update(_room(t) for t, _ in _imports(mods, m) if _room(t) != _room(m))
    return edges


def test_every_room_has_a_layer():
    rooms = {_room(m) for m in _modules()} - {""}
    layered = {r for layer in LAYERS for r in layer}
    assert rooms == layered, f"unlayered: {sorted(rooms - layered)}; gone: {sorted(layered - rooms)}"


def test_no_import_from_a_lower_layer_to_a_higher_one():
    level = {r: i for i, layer in enumerate(LAYERS) for r in layer}
    upward = [
        f"vise_lib.{src} (layer {level[src]}) imports vise_lib.{dst} (layer {level.get(dst, '?')})"
        for src, dsts in _package_edges().items()
        for dst in dsts
        if dst not in level or level[dst] > level[src]
    ]
    assert not upward, upward


def test_no_import_cycles_between_packages():
    """Module-level acyclicity is not enough: ``a.x -> b.y`` and ``b.z -> a.w`` is a package cycle."""
    edges = _package_edges()
    closure = {r: set(ts) for r, ts in edges.items()}
    changed = True
    while changed:
        changed = False
        for ts in closure.values():
            more = set().union(*(closure.get(t, set()) for t in ts)) - ts
            if more:
                ts |= more
                changed = True
    cyclic = sorted(r for r, ts in closure.items() if r in ts)
    assert not cyclic, f"packages in an import cycle: {cyclic}"


def test_no_private_name_is_imported_from_another_module():
    mods = _modules()
    bad = [
        f"{m}: {n} from {t}"
        for m in mods
        for t, n in _imports(mods, m)
        if n and n.startswith("_") and f"{t}.{n}" not in mods
    ]
    for folder in ("tests", "benchmarks"):
        for p in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(p.read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vise_lib"):
                    bad += [f"{p.relative_to(ROOT)}: {a.name}" for a in node.names if a.name.startswith("_")]
    assert not bad, bad


def test_every_module_imports_on_its_own():
    for name in sorted(_modules()):
        if not name.endswith("__main__"):
            importlib.import_module(name)


def test_no_public_name_is_shadowed_by_a_subpackage():
    for name in vise_lib.__all__:
        assert not (PKG / name).is_dir(), f"vise_lib.{name} is both a public name and a subpackage"


def test_public_api_is_fully_annotated():
    import inspect

    missing = []
    for name in vise_lib.__all__:
        obj = getattr(vise_lib, name)
        if inspect.isclass(obj):
            fns = [
                f for n, f in inspect.getmembers(obj, inspect.isfunction) if not n.startswith("_") or n == "__init__"
            ]
        else:
            fns = [obj] if inspect.isfunction(obj) else []
        for f in fns:
            sig = inspect.signature(f)
            params = [p for p in sig.parameters if p not in ("self", "cls")]
            missing += [
                f"{name}.{f.__name__}({p})" for p in params if sig.parameters[p].annotation is inspect.Parameter.empty
            ]
            if sig.return_annotation is inspect.Signature.empty:
                missing.append(f"{name}.{f.__name__} -> ?")
    assert not missing, missing
