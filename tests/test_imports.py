"""The domain packages stand below the spec language: they never import ``geokeras.spec`` and never
name a spec section in the key paths of their errors (the caller places them in the spec)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import geokeras

PACKAGE_ROOT = Path(geokeras.__file__).parent
DOMAIN_PACKAGES = ("manifolds", "ot", "evaluate", "complexity", "models")
SPEC_SECTIONS = {"manifold", "model", "train", "evaluate", "latent_ot", "report", "runtime"}


def domain_modules() -> list[Path]:
    return sorted(path for name in DOMAIN_PACKAGES for path in (PACKAGE_ROOT / name).rglob("*.py"))


def imported_modules(tree: ast.AST, module_name: str) -> set[str]:
    """Every module an ``import`` or ``from ... import`` names, relative imports resolved."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = module_name.split(".")[: -node.level] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def module_name_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("package", DOMAIN_PACKAGES)
def test_importing_a_domain_package_does_not_import_the_spec(package):
    code = (
        f"import sys, geokeras.{package}; "
        "spec = sorted(m for m in sys.modules if m == 'geokeras.spec' or m.startswith('geokeras.spec.')); "
        "assert not spec, spec"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr


def test_no_domain_module_imports_the_spec():
    offenders = []
    for path in domain_modules():
        name = module_name_of(path)
        imported = imported_modules(ast.parse(path.read_text(encoding="utf-8")), name)
        if any(module == "geokeras.spec" or module.startswith("geokeras.spec.") for module in imported):
            offenders.append(name)
    assert offenders == []


def test_the_static_check_sees_function_level_and_relative_imports():
    tree = ast.parse("def f():\n    from geokeras.spec.schema import Spec\nfrom ..spec import load_spec\n")
    assert {"geokeras.spec.schema", "geokeras.spec"} <= imported_modules(tree, "geokeras.ot.solve")


def test_no_domain_error_names_a_spec_section():
    """``SpecError(message, ("latent_ot", "solver", "tol"))`` in a domain module is refused: it raises
    ``("tol",)`` and the caller locates it (``located_under("latent_ot", "solver")``)."""
    offenders = []
    for path in domain_modules():
        source = path.read_text(encoding="utf-8")
        assert "MANIFOLD_KEY" not in source, path
        for node in ast.walk(ast.parse(source)):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "SpecError"):
                continue
            for argument in [*node.args[1:2], *(keyword.value for keyword in node.keywords if keyword.arg == "path")]:
                if isinstance(argument, ast.Tuple) and argument.elts:
                    first = argument.elts[0]
                    if isinstance(first, ast.Constant) and first.value in SPEC_SECTIONS:
                        offenders.append(f"{module_name_of(path)}:{node.lineno}")
    assert offenders == []


def package_graph() -> dict[str, set[str]]:
    """``{first-level module of geokeras: the other first-level modules it imports}`` (any import, anywhere)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE_ROOT.rglob("*.py"):
        name = module_name_of(path)
        package = name.split(".")[1] if "." in name else name
        targets = {
            module.split(".")[1]
            for module in imported_modules(ast.parse(path.read_text(encoding="utf-8")), name)
            if module.startswith("geokeras.")
        }
        graph.setdefault(package, set()).update(targets - {package})
    return graph


def import_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or ``[]`` when it has none (depth-first search)."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = "open"
        for successor in sorted(graph.get(node, ())):
            if state.get(successor) == "open":
                return path[path.index(successor) :] + [successor]
            if successor not in state:
                found = visit(successor, path + [successor])
                if found:
                    return found
        state[node] = "done"
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return []


def test_no_import_cycle_between_packages():
    graph = package_graph()
    assert {"api", "spec", "evaluation", "evaluate", "complexity", "ot", "manifolds", "registry"} <= set(graph)
    assert import_cycle(graph) == []
    assert import_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
