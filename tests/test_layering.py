"""The package's import graph: layers point one way, nothing imports in a circle, library imports sit at the top.

Each node is a top-level module (``spurious/io.py``) or a sub-package (``spurious/grading/``). ``LAYERS`` lists
them bottom first; a node may import its own modules and nodes of a lower layer, never one of its own layer or
a higher one. The graph is read from the source with :mod:`ast` (no module is imported), so the test is
as fast as parsing and sees imports inside functions too.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import spurious

ROOT = Path(spurious.__file__).resolve().parent

# Bottom first. Within a layer no node imports another.
LAYERS: tuple[tuple[str, ...], ...] = (
    # primitives every layer may use (the standard library only; console: rich)
    ("errors", "lifecycle", "code_reasoning", "smoothing", "voting", "console"),
    ("rollout",),                         # the one rollout record and its key (may use the primitives)
    ("io", "assignments"),                # result files (JSONL, atomic writes); command-line key=value
    ("provenance", "models", "report", "run_files"),  # provenance; model loading; HTML blocks; a run's files
    ("grading",),                         # answer extraction and equivalence
    ("measure",),                         # what is measured on every response (grading, code/format flags)
    ("data",),                            # problems, benchmarks, prompt templates
    ("rewards",),                         # reward functions on (prompt, response, answer) samples
    ("eval",),                            # sampling backends, evaluation runner, offline labelling
    ("rl",),                              # GRPO training
    ("analysis",),                        # tables, curves, figures, the analyze pipeline
    ("organism",),                        # the CPU model organism and its demo grid
    ("audit",),                           # spurious audit: a reward against spurious controls, on organisms
    ("commands",),                        # one module per CLI command
    ("cli",),
    ("__main__",),
)
RANK = {node: i for i, layer in enumerate(LAYERS) for node in layer}

# Library modules that import spurious modules inside a function, and why. Everything else imports at the top;
# the CLI and its commands (``cli``, ``commands``, ``__main__``) stay lazy so ``spurious --help`` is fast.
LAZY_ALLOWED: dict[str, str] = {
    "spurious.grading._worker": "a grading worker process imports the SymPy-heavy official checker on first use",
    "spurious.rl": "the config API (TrainConfig, build_config) loads without TRL (~10 s); train() loads it on use",
}
LAZY_NODES = ("cli", "commands", "__main__")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def node_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (ROOT / rel).with_suffix(".py").is_file() or (ROOT / rel / "__init__.py").is_file()


def imports(path: Path) -> list[tuple[str, bool, int]]:
    """``(imported spurious module, at module top?, line)`` for every import in ``path``."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    top_level = {id(n) for n in tree.body}
    # an import under a top-level ``if``/``try`` (TYPE_CHECKING, optional dependency) still runs at import time
    for stmt in tree.body:
        if isinstance(stmt, (ast.If, ast.Try)):
            top_level |= {id(n) for n in ast.walk(stmt) if isinstance(n, (ast.Import, ast.ImportFrom))}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{prefix}.{base}" if base else prefix
            # ``from spurious.x import y``: y is a module spurious.x.y when that file exists, else a name in x
            targets = [f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base for a in node.names]
        else:
            continue
        out += [(t, id(node) in top_level, node.lineno) for t in targets if t.split(".")[0] == "spurious"]
    return out


def all_imports() -> dict[str, list[tuple[str, bool, int]]]:
    return {module_name(p): imports(p) for p in sorted(ROOT.rglob("*.py"))}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a node list (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (c := visit(m)):
                return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (c := visit(n)):
            return c
    return None


def test_every_node_has_a_layer():
    nodes = {node_of(m) for m in all_imports()} - {"spurious"}
    assert nodes - set(RANK) == set(), "add the new module or sub-package to LAYERS"


def test_no_import_points_up_or_sideways():
    bad = []
    for module, found in all_imports().items():
        if module == "spurious":
            continue
        src = node_of(module)
        for target, _, line in found:
            dst = node_of(target)
            if dst != src and dst != "spurious" and RANK[dst] >= RANK[src]:
                bad.append(f"{module}:{line} imports {target} ({src} is layer {RANK[src]}, {dst} is {RANK[dst]})")
    assert bad == []


def test_nodes_and_modules_import_in_no_circle():
    modules = all_imports()
    nodes: dict[str, set[str]] = defaultdict(set)
    mods: dict[str, set[str]] = defaultdict(set)
    for module, found in modules.items():
        for target, _, _ in found:
            if target != module:
                mods[module].add(target)
            if node_of(target) != node_of(module):
                nodes[node_of(module)].add(node_of(target))
    assert find_cycle(nodes) is None
    assert find_cycle(mods) is None


def test_library_imports_sit_at_module_top():
    lazy = []
    for module, found in all_imports().items():
        if node_of(module) in LAZY_NODES or module in LAZY_ALLOWED:
            continue
        lazy += [f"{module}:{line} imports {target} inside a function" for target, top, line in found if not top]
    assert lazy == []


def test_the_checker_finds_cycles_and_reads_imports():
    """The helpers catch what they are for (so the tests above cannot pass vacuously)."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    f = ROOT / "grading" / "extract.py"
    assert any(t.startswith("spurious.grading") and top for t, top, _ in imports(f))
    assert RANK["analysis"] > RANK["rl"] > RANK["grading"] > RANK["errors"]


@pytest.mark.parametrize("module", sorted(LAZY_ALLOWED))
def test_lazy_allow_list_is_current(module):
    found = all_imports()[module]
    assert any(not top for _, top, _ in found), f"{module} no longer imports lazily: drop it from LAZY_ALLOWED"
