"""The package's layout: every module imports alone and in any order, without side effects; no import
cycle; no module over 300 lines; no re-export through a module-level ``__getattr__``."""

import ast
import re
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mmhelpers"
MAX_LINES = 300


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


#: every importable module (``__main__`` runs a command: importing it is its side effect)
MODULES = sorted(_name(p) for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")

#: run in a fresh interpreter: import the third-party libraries first (their own import-time threads
#: and caches are not ours) and take stock. ``sequence``: import the modules named on the command line
#: in that order; ``alone``: for each module, fork a copy of this interpreter (no package module loaded
#: yet) that imports that module alone. Each reports what changed: environment, Python threads,
#: native threads, files.
PROBE = r"""
import importlib, json, os, sys, threading
from pathlib import Path
for lib in ("numpy", "scipy.signal", "scipy.special", "sklearn.model_selection", "sklearn.metrics", "torch",
            "pandas", "matplotlib.pyplot", "seaborn", "sympy", "joblib", "IPython.display"):
    importlib.import_module(lib)
assert not [m for m in sys.modules if m.startswith("mmhelpers")]
watched = [Path(p) for p in os.environ["WATCHED"].split(os.pathsep)]
def state():
    files = sorted(str(p) for w in watched if w.exists() for p in w.rglob("*"))
    tasks = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 0
    return {"environ": dict(os.environ), "threads": threading.active_count(), "native": tasks, "files": files}
def changes(before, names):
    for name in names:
        importlib.import_module(name)
    after = state()
    return {k: [before[k], after[k]] for k in before if before[k] != after[k]}
before = state()
mode, names = sys.argv[1], sys.argv[2:]
if mode == "sequence":
    print(json.dumps({"all": changes(before, names)}))
else:
    report = {}
    for name in names:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                text = json.dumps(changes(state(), [name]))  # a fork has only the forking thread
            except BaseException as exc:
                text = json.dumps({"import error": repr(exc)})
            os.write(write, text.encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as f:
            report[name] = json.loads(f.read())
        os.waitpid(pid, 0)
    print(json.dumps(report))
"""


def _probe(tmp_path: Path, mode: str, modules: list[str]) -> dict:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    for d in (home, cwd):
        d.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HOME=str(home), PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(ROOT),
               MPLCONFIGDIR=str(tmp_path / "mpl"), MM_CACHE_DIR=str(tmp_path / "cache"),
               MM_FIGURES_DIR=str(tmp_path / "figures"),
               WATCHED=os.pathsep.join(str(p) for p in (home, cwd, tmp_path / "cache", tmp_path / "figures",
                                                        ROOT / "figures", ROOT / ".cache")))
    out = subprocess.run([sys.executable, "-c", PROBE, mode, *modules], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, f"importing the modules failed:\n{out.stderr[-3000:]}"
    return {name: found for name, found in json.loads(out.stdout.strip().splitlines()[-1]).items() if found}


def test_the_package_has_the_layout_by_role():
    assert {"mmhelpers.data", "mmhelpers.embedded", "mmhelpers.features", "mmhelpers.models", "mmhelpers.training",
            "mmhelpers.analysis", "mmhelpers.plots", "mmhelpers.cache", "mmhelpers.config",
            "mmhelpers.losses"} <= set(MODULES)
    assert not any(m.startswith(("mmhelpers.series", "mmhelpers.export", "mmhelpers.bench", "mmhelpers.readme"))
                   for m in MODULES)  # tooling lives in tools/


@pytest.mark.parametrize("order", ["alphabetical", "reverse"])
def test_all_modules_import_in_either_order_without_side_effects(order, tmp_path):
    assert _probe(tmp_path, "sequence", MODULES if order == "alphabetical" else MODULES[::-1]) == {}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="each module in a forked interpreter: POSIX only")
def test_each_module_imports_alone_without_side_effects(tmp_path):
    assert _probe(tmp_path, "alone", MODULES) == {}


def _imports(path: Path) -> set[str]:
    """The package modules that ``path`` imports (anywhere in it), each import resolved to a module."""
    module = _name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in MODULES else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in MODULES and m != module}


def test_no_import_cycles():
    graph = {_name(p): _imports(p) for p in PACKAGE.rglob("*.py") if p.name != "__main__.py"}
    state, cycle = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycle.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycle, " -> ".join(cycle[0])


def test_modules_are_small_and_hide_nothing_behind_getattr():
    sizes = {_name(p): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {m: n for m, n in sizes.items() if n > MAX_LINES} == {}
    shims = [_name(p) for p in PACKAGE.rglob("*.py")
             if any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for n in ast.parse(p.read_text()).body)]
    assert shims == []


@pytest.mark.parametrize("package", sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py")))
def test_each_sub_package_docstring_names_every_module_it_holds(package):
    """The sub-package's docstring is its table of contents: every module is listed
    (``:mod:`.name```), and nothing listed is missing."""
    folder = PACKAGE / package
    init = folder / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text())) or ""
    listed = set(re.findall(r":mod:`\.(\w+)`", doc))
    modules = {p.stem for p in folder.glob("*.py") if not p.name.startswith("__")}
    assert listed == modules, (f"{init.relative_to(ROOT)}: not listed {sorted(modules - listed)}, "
                               f"listed but absent {sorted(listed - modules)}")
