"""The house rules, read from the source with ``ast``: imports point down the layers, no cycles.

Layers, lowest first. A module may import its own layer and the layers below it, never above. A
task folder (``tasks/classify`` …) never imports another task folder; ``tasks/common`` and
``tasks/base`` are shared. Imports of ``transferkit`` inside functions are allowed only in CLI
command bodies (so that ``--help`` stays fast); elsewhere they would hide a cycle.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

LAYERS = [
    "core",
    "render",
    "zoo",
    "data",
    "transfer",
    "tasks",
    "runs",
    "report",
    "export",
    "engine",
    "api",
    "cli",
    "",  # transferkit/__init__.py and __main__.py: the package's own face
]
SHARED_TASK_PARTS = {"common", "base", "__init__"}
FUNCTION_IMPORTS_ALLOWED = {"cli"}
MAX_FILE_LINES = 300
MAX_FUNCTION_LINES = 60
DATA_TABLES: set[str] = set()  # files exempt from the size rule (relative paths)

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "src" / "transferkit"


@dataclass(frozen=True)
class Import:
    source: str  # importing module, dotted, without the "transferkit." prefix
    target: str  # imported module, dotted, without the prefix ("" is the package itself)
    line: int
    in_function: bool


def module_names(root: Path) -> dict[str, Path]:
    """Every module under ``root`` by dotted name relative to it (packages by their folder)."""
    names = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name if name in modules else None


def collect_imports(root: Path, package: str = "transferkit") -> list[Import]:
    """All imports of ``package`` modules in the tree at ``root``, function-level included."""
    modules = module_names(root)
    found = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        for node, in_function in _walk(tree, False):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if name else []
                    if not is_package:
                        base = base[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    module = ".".join([package, *base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                targets = [f"{module}.{a.name}" for a in node.names] or [module]
            for target in targets:
                if target != package and not target.startswith(package + "."):
                    continue
                resolved = _resolve(target.removeprefix(package).lstrip("."), modules)
                if resolved is not None and resolved != name:
                    found.append(Import(name, resolved, node.lineno, in_function))
    return found


def _walk(node: ast.AST, in_function: bool):
    for child in ast.iter_child_nodes(node):
        inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
        yield child, in_function
        yield from _walk(child, inner)


def layer_of(module: str) -> str:
    return module.split(".")[0] if "." in module or module in LAYERS else ""


def layer_violations(imports: list[Import]) -> list[str]:
    """Imports that point up the layer list, across task folders, or hide inside functions."""
    rank = {name: i for i, name in enumerate(LAYERS)}
    problems = []
    for imp in imports:
        src, dst = layer_of(imp.source), layer_of(imp.target)
        where = f"{imp.source}:{imp.line} imports {imp.target}"
        if src not in rank or dst not in rank:
            problems.append(f"{where}: layer {src or dst!r} is not in LAYERS")
        elif rank[dst] > rank[src]:
            problems.append(f"{where}: {dst!r} is above {src!r}")
        if src == dst == "tasks":
            a, b = (m.split(".")[1] if m.count(".") else "__init__" for m in (imp.source, imp.target))
            if a != b and a not in SHARED_TASK_PARTS and b not in SHARED_TASK_PARTS:
                problems.append(f"{where}: task {a!r} imports task {b!r}")
        if imp.in_function and src not in FUNCTION_IMPORTS_ALLOWED:
            problems.append(f"{where}: inside a function (only cli/ may import lazily)")
    return problems


def find_cycles(imports: list[Import]) -> list[list[str]]:
    """Strongly connected groups of more than one module in the import graph (Tarjan)."""
    graph = defaultdict(set)
    for imp in imports:
        graph[imp.source].add(imp.target)
        # importing a.b.c runs a/__init__ and a/b/__init__ first
        parts = imp.target.split(".")
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if parent != imp.source and not imp.source.startswith(parent + "."):
                graph[imp.source].add(parent)
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in list(graph):
        if v not in index:
            visit(v)
    return groups


def size_violations(root: Path) -> list[str]:
    """Files over MAX_FILE_LINES lines and functions over MAX_FUNCTION_LINES lines."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines > MAX_FILE_LINES and rel not in DATA_TABLES:
            problems.append(f"{rel}: {lines} lines (at most {MAX_FILE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    problems.append(f"{rel}:{node.lineno} {node.name}() is {length} lines")
    return problems


def test_imports_point_down_the_layers():
    problems = layer_violations(collect_imports(PACKAGE_ROOT))
    assert not problems, "\n".join(problems)


def test_no_import_cycles():
    cycles = find_cycles(collect_imports(PACKAGE_ROOT))
    assert not cycles, "\n".join(" <-> ".join(c) for c in cycles)


def test_files_and_functions_stay_small():
    problems = size_violations(PACKAGE_ROOT)
    assert not problems, "\n".join(problems)


def test_every_package_folder_is_a_layer():
    folders = {p.name for p in PACKAGE_ROOT.iterdir() if (p / "__init__.py").exists()}
    assert folders <= set(LAYERS), f"folders not in LAYERS: {sorted(folders - set(LAYERS))}"


def _plant(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"core/__init__.py": "", "core/x.py": "from transferkit.engine import y\n",
          "engine/__init__.py": "", "engine/y.py": ""}, "'engine' is above 'core'"),
        ({"tasks/__init__.py": "", "tasks/a/__init__.py": "", "tasks/b/__init__.py": "",
          "tasks/a/task.py": "from transferkit.tasks.b import task\n", "tasks/b/task.py": ""},
         "task 'a' imports task 'b'"),
        ({"data/__init__.py": "", "core/__init__.py": "", "core/e.py": "",
          "data/d.py": "def f():\n    from transferkit.core import e\n"}, "inside a function"),
        ({"data/__init__.py": "", "data/d.py": "from ..core import e\n", "core/__init__.py": "",
          "core/e.py": "import transferkit.data.d\n"}, "'data' is above 'core'"),
    ],
)
def test_planted_layer_violation_is_reported(tmp_path, files, expected):
    problems = layer_violations(collect_imports(_plant(tmp_path, files)))
    assert any(expected in p for p in problems), problems


def test_planted_cycle_is_reported(tmp_path):
    root = _plant(tmp_path, {"data/__init__.py": "", "data/a.py": "from transferkit.data import b\n",
                             "data/b.py": "def f():\n    from transferkit.data import a\n"})
    assert find_cycles(collect_imports(root)) == [["data.a", "data.b"]]


def test_planted_long_function_is_reported(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    root = _plant(tmp_path, {"core/__init__.py": "", "core/long.py": "def f():\n" + body})
    assert size_violations(root) == [f"core/long.py:1 f() is {MAX_FUNCTION_LINES + 1} lines"]
