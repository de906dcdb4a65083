"""The house rules of `rl/` (docs/layout.md), read from the code's own imports: rooms only import lower rooms,
no import circles between modules, and `rewards/` imports nothing from `rl/`."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Lowest first: a module may import its own room and the rooms before it, never one after it.
ROOMS = ("errors", "config", "data", "eval", "train", "testtime", "demo", "commands", "cli")
ROOM_OF_TOP_MODULE = {"rl": "cli", "rl.__main__": "cli", "rl.cli": "cli", "rl.errors": "errors"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: str) -> dict[str, Path]:
    return {module_name(path): path for path in sorted((ROOT / package).rglob("*.py"))}


ALL = {**modules("rl"), **modules("rewards")}


def imported(node: ast.AST) -> list[str]:
    """The modules an import statement loads (`from a.b import c`: `a.b.c` when that is a module, else `a.b`)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in ALL else node.module for alias in node.names]
    return []


def imports(path: Path, module_level_only: bool) -> set[str]:
    """Project modules imported by the file: at module level (what runs on import), or anywhere (function-local too)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = []
    for statement in tree.body if module_level_only else ast.walk(tree):
        if module_level_only and isinstance(statement, (ast.If, ast.Try)):  # `if TYPE_CHECKING:`, `try: import x`
            nodes += [child for child in ast.walk(statement) if isinstance(child, (ast.Import, ast.ImportFrom))]
        else:
            nodes.append(statement)
    return {name for node in nodes for name in imported(node) if name in ALL}


def room(module: str) -> str:
    if module in ROOM_OF_TOP_MODULE:
        return ROOM_OF_TOP_MODULE[module]
    return module.split(".")[1]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, ()):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_rl_module_sits_in_a_known_room_with_a_docstring():
    for module, path in ALL.items():
        if module.startswith("rl"):
            assert room(module) in ROOMS, f"{path}: not in a room of docs/layout.md ({', '.join(ROOMS)})"
    for name in ROOMS:
        package = ROOT / "rl" / name / "__init__.py"
        if package.is_file():
            assert ast.get_docstring(ast.parse(package.read_text())), f"{package}: a room says its job in a docstring"


def test_rooms_import_only_lower_rooms():
    upward = []
    for module, path in ALL.items():
        if not module.startswith("rl"):
            continue
        for target in imports(path, module_level_only=False):
            if target.startswith("rl") and ROOMS.index(room(target)) > ROOMS.index(room(module)):
                upward.append(f"{module} ({room(module)}) imports {target} ({room(target)})")
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_rewards_imports_nothing_from_rl():
    offenders = [f"{module} imports {target}" for module, path in ALL.items() if module.startswith("rewards")
                 for target in imports(path, module_level_only=False) if target.split(".")[0] == "rl"]  # fmt: skip
    assert not offenders


def test_no_import_circles_between_modules():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]  # the checker finds one
    # neither among the imports that run on import, nor when the function-local ones are counted too
    for module_level_only in (True, False):
        graph = {module: imports(path, module_level_only) for module, path in ALL.items()}
        assert not cycles(graph), f"import circles (module level only: {module_level_only})"


def test_no_module_in_the_package_looks_like_a_test_file():
    assert not [str(path) for path in ALL.values() if path.name.startswith("test_")]


def test_the_layout_page_names_every_room():
    page = (ROOT / "docs" / "layout.md").read_text()
    missing = [name for name in ROOMS if name not in ("errors", "cli") and f"rl/{name}/" not in page]
    assert not missing, f"docs/layout.md does not draw {missing}"
