"""The house rules of the code's layout, checked on the source (docs/architecture.md, Layout).

The layers import downwards only (graph → policies → models → engine); there are no import
cycles between modules; no module imports another's private names; a domain's tables import
no operations; models/ has no function-local imports of its own modules (the usual way round
a cycle)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("graph", "policies", "models", "engine")  # each may import only those after it


def _modules() -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> list[tuple[ast.stmt, bool, list[str], list[str]]]:
    """(statement, at module level, project modules it imports, names it imports)."""
    tree = ast.parse(path.read_text())
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            targets, names = [alias.name for alias in node.names], []
        else:
            continue
        targets = [target for target in targets if target in MODULES]
        if targets:
            found.append((node, id(node) in top_level, targets, names))
    return found


IMPORTS = {module: _imports(path) for module, path in MODULES.items()}


def _layer(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def test_the_layers_import_downwards_only():
    upward = [
        f"{module}:{node.lineno} imports {target}"
        for module, statements in IMPORTS.items()
        for node, _top, targets, _names in statements
        for target in targets
        if _layer(target) < _layer(module)
    ]
    assert upward == []


def test_no_import_cycles_between_modules():
    edges = {
        module: {target for _node, top, targets, _names in statements if top for target in targets}
        for module, statements in IMPORTS.items()
    }
    # A module's own package (`models.customers` for `models.customers.tables`) is imported
    # before the module itself: that is not a cycle.
    for module, targets in edges.items():
        targets -= {module.rsplit(".", 1)[0]}
    cycles, state = [], dict.fromkeys(edges, 0)  # 0 new, 1 on the path, 2 done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state[target] == 1:
                cycles.append([*path[path.index(target) :], target])
            elif state[target] == 0:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(edges):
        if state[module] == 0:
            visit(module, [module])
    assert cycles == []


def test_no_module_imports_another_modules_private_names():
    private = [
        f"{module}:{node.lineno} imports {name} from {node.module}"
        for module, statements in IMPORTS.items()
        for node, _top, _targets, names in statements
        for name in names
        if name.startswith("_") and isinstance(node, ast.ImportFrom)
    ]
    assert private == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.endswith(".tables")))
def test_tables_import_no_operations(module):
    allowed = ("models.core", "models.db", "engine")
    wrong = [
        target
        for _node, _top, targets, _names in IMPORTS[module]
        for target in targets
        if not (target.startswith(allowed) or target.endswith(".tables") or target == "models")
        and not any(other.startswith(target + ".") for other in targets)  # the package itself
    ]
    assert wrong == []


def test_models_import_their_own_modules_at_module_level():
    local = [
        f"{module}:{node.lineno}"
        for module, statements in IMPORTS.items()
        if module.startswith("models")
        for node, top, _targets, _names in statements
        if not top
    ]
    assert local == []


def test_the_checks_see_the_whole_house():
    # Given the scan above, when it found the modules, then it found every layer and the
    # domain packages (a scan that found nothing would pass every test above).
    assert {module.split(".")[0] for module in MODULES} == set(LAYERS)
    assert {"models.customers.tables", "models.partner.operations", "graph.schema"} <= set(MODULES)
    assert sum(len(statements) for statements in IMPORTS.values()) > 200
