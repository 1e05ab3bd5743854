"""The package's layout: folders are layers that import downward only, faces, sizes, the book's imports."""

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gradwidgets"
LAYERS = {"core": 0, "lessons": 1, "plots": 2, "widgets": 3, "explorers": 4, "integrations": 6}
"""Each subpackage's rank: a module may import its own layer and those of lower rank only
(integrations, the training-framework callbacks, sit above the top: nothing imports them)."""
TOP = 5  # gradwidgets/__init__.py, cli.py, __main__.py: the faces above every layer
FACES = ["gradwidgets", *(f"gradwidgets.{name}" for name in LAYERS)]
MAX_LINES = 250


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _rank(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], TOP) if len(parts) > 1 else TOP


def _imports(module: str) -> set[str]:
    """Every gradwidgets module ``module`` imports, at the top or inside a function."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names]
            found |= {n for n in names if n in MODULES} or {target}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "import_module":
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value)
    return {m for m in found if m == "gradwidgets" or m.startswith("gradwidgets.")}


def test_the_modules_are_found():
    assert {"gradwidgets.core.profile", "gradwidgets.widgets.spec", "gradwidgets.explorers"} <= set(MODULES)
    assert _imports("gradwidgets.widgets.explorer") >= {
        "gradwidgets.widgets.spec",
        "gradwidgets.widgets.live",
    }


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_its_own_layer_or_lower_ones(module):
    upward = sorted(m for m in _imports(module) if _rank(m) > _rank(module))
    assert not upward, f"{module} (layer {_rank(module)}) imports a higher layer: {upward}"


def test_no_import_cycles_between_modules():
    graph = {m: {t for t in _imports(m) if t in MODULES and t != m} for m in MODULES}
    for m in MODULES:  # importing a.b.c runs a/__init__ and a/b/__init__ first: not a dependency edge
        graph[m] -= {p for p in graph[m] if m.startswith(p + ".")}
    done, path = set(), []

    def visit(m):
        if m in path:
            raise AssertionError(" -> ".join([*path[path.index(m) :], m]))
        if m in done:
            return
        path.append(m)
        for t in sorted(graph[m]):
            visit(t)
        path.pop()
        done.add(m)

    for m in sorted(graph):
        visit(m)


@pytest.mark.parametrize("path", sorted(MODULES.values()), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_module_is_at_most_250_lines(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


@pytest.mark.parametrize("face", FACES)
def test_every_face_declares_all_and_every_name_in_it_resolves(face):
    module = importlib.import_module(face)
    assert module.__all__ == sorted(set(module.__all__), key=module.__all__.index), "no duplicates"
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert not missing


def test_the_top_level_face_keeps_its_public_names():
    import gradwidgets as gw

    for name in ("diagnose", "gradient_profile", "train", "watch", "Explorer", "build_mlp", "History"):
        assert name in gw.__all__
    assert gw.Explorer is importlib.import_module("gradwidgets.widgets").Explorer
    assert gw.History is importlib.import_module("gradwidgets.core").History


def test_the_book_imports_only_gradwidgets_and_the_subpackage_faces():
    pattern = re.compile(r"^\s*(?:from|import)\s+(gradwidgets[\w.]*)", re.M)
    found = {}
    for chapter in sorted((ROOT / "book").rglob("*.md")):
        for name in pattern.findall(chapter.read_text()):
            found.setdefault(name, chapter.name)
    assert found, "the chapters import gradwidgets"
    private = {name: where for name, where in found.items() if name not in FACES}
    assert not private, f"chapters import modules behind the faces: {private}"


def test_readme_layout_names_every_subpackage_and_top_level_module():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") :]
    layout = layout[: layout.index("\n## ", 4)]
    for sub in sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()):
        assert f"{sub}/" in layout, f"README's layout does not name gradwidgets/{sub}/"


COVERED_ELSEWHERE = {
    "gradwidgets.__main__": "test_cli.py",  # `python -m gradwidgets` is the CLI
    "gradwidgets.explorers._common": "test_explorers.py",  # the catalog's shared helpers
    # the framework callbacks are tested in one file, each with a real two-step run
    "gradwidgets.integrations._common": "test_integrations.py",
    "gradwidgets.integrations.huggingface": "test_integrations.py",
    "gradwidgets.integrations.lightning": "test_integrations.py",
}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not MODULES[m].name == "__init__.py"))
def test_a_module_has_a_test_file_named_after_it(module):
    """gradwidgets/<sub>/<mod>.py -> tests/test_<sub>_<mod>.py (a private module drops its underscore)."""
    parts = [p.lstrip("_") for p in module.split(".")[1:]]
    expected = COVERED_ELSEWHERE.get(module, f"test_{'_'.join(parts)}.py")
    assert (ROOT / "tests" / expected).exists(), f"{module} has no tests/{expected}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _rank(m) <= LAYERS["lessons"]))
def test_core_and_lessons_need_torch_and_numpy_only(module):
    """The table's "needs" column: no plotting or notebook stack below plots/, even lazily."""
    heavy = {"bokeh", "ipywidgets", "jupyter_bokeh", "IPython"}
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    assert not found & heavy, f"{module} imports {sorted(found & heavy)}"
