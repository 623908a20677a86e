"""The house plan's import rules, read from the source (so they stay true as code moves).

Every `import` and `from ... import` is counted, also those inside functions: a lazy
import is still a dependency. Floors run one way, the library rooms never reach the
application, nothing in `rnn_keras` or `rnn_keras_common` touches onnxruntime, no module
imports itself back through others, and the inference path never reaches TensorFlow.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("rnn_keras", "rnn_keras_common", "export", "bench")
# Entry points: the top floor, allowed to import every room (they are what users run).
ENTRY_POINTS = {"export.__main__", "export.infer", "bench.__main__", "rnn_keras_common.train_cli"}


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path):
    """Absolute names `path` imports (relative imports resolved), anywhere in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def graph():
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            modules[module_name(path)] = path
    edges = {}
    for name, path in modules.items():
        # keep names that are our modules (a `from x import y` may name a function)
        edges[name] = {m for m in imports_of(path) if m in modules and m != name}
    return modules, edges


MODULES, EDGES = graph()
ALL_IMPORTS = {name: imports_of(path) for name, path in MODULES.items()}


def in_room(name, *rooms):
    return any(name == r or name.startswith(r + ".") for r in rooms)


def test_the_graph_sees_the_rooms():
    for expected in (
        "rnn_keras.layers.sequence",
        "rnn_keras.tasks.lm",
        "rnn_keras.train.training",
        "rnn_keras_common.decoding",
        "export.runtime",
    ):
        assert expected in MODULES
    assert "rnn_keras.recurrence" in EDGES["rnn_keras.layers.sequence"]


LIBRARY = ("rnn_keras.layers", "rnn_keras.recurrence", "rnn_keras.bptt", "rnn_keras_common")


@pytest.mark.parametrize(
    "rooms, forbidden",
    [
        (LIBRARY, ("rnn_keras.tasks", "rnn_keras.train", "export", "bench")),
        (("rnn_keras.data",), ("rnn_keras.tasks", "rnn_keras.train", "export")),
        (("rnn_keras.tasks",), ("rnn_keras.train", "export")),
        (("rnn_keras",), ("export", "bench")),
        (("export",), ("bench",)),
    ],
)
def test_floors_run_one_way(rooms, forbidden):
    bad = [
        f"{name} imports {dep}"
        for name, deps in EDGES.items()
        if in_room(name, *rooms) and name not in ENTRY_POINTS
        for dep in deps
        if in_room(dep, *forbidden)
    ]
    assert not bad, bad


def test_rnn_keras_never_imports_onnxruntime():
    bad = [
        name
        for name, found in ALL_IMPORTS.items()
        if in_room(name, "rnn_keras", "rnn_keras_common") and name not in ENTRY_POINTS
        if any(in_room(m, "onnxruntime") for m in found)
    ]
    assert not bad, bad


def test_no_import_circles():
    def cycle_from(start):
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for dep in EDGES[node]:
                if dep == start:
                    return path + [dep]
                if dep not in seen:
                    seen.add(dep)
                    stack.append((dep, path + [dep]))
        return None

    # a package imports its own submodules by design (`pkg/__init__` re-exporting),
    # and a submodule importing its package's names is the same edge reversed
    def ignored(a, b):
        return a.startswith(b + ".") or b.startswith(a + ".")

    for name in EDGES:
        EDGES[name] = {d for d in EDGES[name] if not ignored(name, d)}
    circles = [c for c in map(cycle_from, EDGES) if c]
    assert not circles, circles[0]


INFERENCE = (
    "export.runtime",
    "export.infer",
    "export.session",
    "export.bound",
    "export.metadata",
    "export.tolerance",
    "bench.gpu",  # the GPU machine has no TensorFlow
)


def test_the_inference_path_never_reaches_tensorflow():
    """Module-level imports only (export.infer's `--compare` imports TensorFlow on demand)."""

    def top_level(name):
        tree = ast.parse(MODULES[name].read_text())
        found = set()
        for node in tree.body:
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
        return found

    todo, reached = list(INFERENCE), set()
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        for dep in top_level(name):
            if in_room(dep, "tensorflow", "keras", "tf2onnx", "rnn_keras"):
                pytest.fail(f"{name} imports {dep} at module level")
            if dep in MODULES:
                todo.append(dep)
                parent = dep.rpartition(".")[0]
                if parent in MODULES:
                    todo.append(parent)  # importing a.b runs a/__init__ first
    assert "rnn_keras_common.vocab" in reached
