"""The shape of bot/ (DESIGN.md): one folder per step of the flow, a lower step never imports a
higher one, no import cycles, small modules, and each outside library kept to the step it serves."""

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"

# The steps in the order of the flow; a module may import its own step and the ones before it.
# errors and masking are leaves every step uses; config (.mrbot.yml) reads the compare rules and
# the report id, and only the job reads it.
FLOW = ["errors", "masking", "ci", "workspace", "results", "compare", "charts", "report", "config",
        "forges", "publish", "job", "propose", "arguments", "cli", "__main__"]
# Where each outside library may be imported.
LIBRARY_HOMES = {
    "dvc": {"workspace", "results"},
    "dvc_data": {"workspace", "results"},
    "github": {"forges"},
    "gitlab": {"forges"},
    "matplotlib": {"charts"},
    "jinja2": {"report"},
    "tabulate": {"report"},
}
MAX_LINES = 400
MAX_DRIVER_LINES = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(BOT.rglob("*.py"))}


def imports_of(path: Path) -> set[str]:
    """Every module imported, at the top or inside functions (lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            # `from bot import x` may name a module x
            found.update(f"{node.module}.{alias.name}" for alias in node.names
                         if f"{node.module}.{alias.name}" in MODULES)
    return found


def step_of(module: str) -> str | None:
    """The step a bot module belongs to; None for bot/__init__.py (the version, imported by all)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_module_belongs_to_a_step_of_the_flow():
    strays = [module for module in MODULES if step_of(module) not in (None, *FLOW)]
    assert not strays, f"put these in the folder of their step, or name the step in FLOW: {strays}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_step_imports_a_later_one(module):
    step = step_of(module)
    if step is None:
        return
    later = [
        imported for imported in imports_of(MODULES[module])
        if imported in MODULES and step_of(imported) is not None
        and FLOW.index(step_of(imported)) > FLOW.index(step)
    ]
    assert not later, f"{module} ({step}) imports a later step: {later}"


def test_no_import_cycles():
    graph = {module: {imported for imported in imports_of(path) if imported in MODULES and imported != module}
             for module, path in MODULES.items()}
    # A package's __init__ is imported along with its submodules: not an edge of its own.
    done, on_path = set(), []

    def visit(module: str) -> None:
        if module in on_path:
            cycle = on_path[on_path.index(module):] + [module]
            pytest.fail(f"import cycle: {' -> '.join(cycle)}")
        if module in done:
            return
        on_path.append(module)
        for imported in sorted(graph[module]):
            visit(imported)
        on_path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_outside_libraries_stay_in_their_step(module):
    step = step_of(module)
    strays = sorted(
        imported for imported in imports_of(MODULES[module])
        if imported.split(".")[0] in LIBRARY_HOMES and step not in LIBRARY_HOMES[imported.split(".")[0]]
    )
    assert not strays, f"{module} imports {strays}; that library belongs in {LIBRARY_HOMES[strays[0].split('.')[0]]}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    is_driver = step_of(module) == "forges" and module.rsplit(".", 1)[-1] not in ("forges", "base")
    limit = MAX_DRIVER_LINES if is_driver else MAX_LINES
    assert lines < limit, f"{MODULES[module]} has {lines} lines; split it below {limit} by what it holds"
