"""DESIGN.md's import direction: an app imports only its own modules and lower levels."""

import ast
from dataclasses import dataclass
from pathlib import Path

import rapport

PACKAGE_ROOT = Path(rapport.__file__).resolve().parent
DOORS = 8
LEVELS = {
    # support modules at the root of the package
    "": 0,  # rapport/__init__.py
    "exceptions": 0,
    "pagination": 0,
    "schemas": 0,
    # apps, down DESIGN.md's list
    "tenancy": 1,
    "customers": 2,
    "identity": 3,
    "consent": 3,
    "preferences": 3,
    "timeline": 3,
    "commerce": 3,
    "events": 3,
    "pets": 3,
    "audit": 3,
    "privacy": 3,  # export and erasure walk the registry of customers.personal_data
    "loyalty": 4,
    "insights": 4,
    "segments": 5,
    "campaigns": 6,
    "reports": 7,
    "assistant": 7,
    # doors: root modules and packages that may reach any app
    "api": DOORS,
    "urls": DOORS,
    "settings": DOORS,
    "settings_production": DOORS,
    "wsgi": DOORS,
    "asgi": DOORS,
    "idempotency": DOORS,
    "middleware": DOORS,
    "cli": DOORS,
    "web": DOORS,
    "ingest": DOORS,
    "demo": DOORS,
    "jobs": DOORS,
}
# The one app api module other apps may import: it holds the API-key auth.
SHARED_API_MODULES = {"rapport.tenancy.api"}


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    importer: str  # dotted module name
    target: str  # dotted module name, within rapport


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(path: Path) -> str:
    name = module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def is_module(dotted: str) -> bool:
    relative = Path(*dotted.split(".")[1:]) if "." in dotted else Path()
    base = PACKAGE_ROOT / relative
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports_in(path: Path, source: str | None = None) -> list[Import]:
    """Every import of a rapport module in a file, including those inside functions."""
    if source is None:
        source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    importer = module_name(path)
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_of(path).split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            # `from rapport.x import y` may name a submodule y rather than an attribute.
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                targets.append(candidate if is_module(candidate) else module)
        for target in dict.fromkeys(targets):
            if target == "rapport" or target.startswith("rapport."):
                found.append(Import(path, node.lineno, importer, target))
    return found


def unit_of(dotted: str) -> str:
    """The app or root module a dotted name belongs to ("" for the package itself)."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else ""


def problems(found: Import) -> list[str]:
    """What is wrong with one import (empty when it follows the rules)."""
    importer, target = unit_of(found.importer), unit_of(found.target)
    if importer not in LEVELS or target not in LEVELS:
        unknown = importer if importer not in LEVELS else target
        return [f"rapport.{unknown} has no level; add it to LEVELS in {Path(__file__).name}"]
    if LEVELS[importer] == DOORS or importer == target:
        return []
    if LEVELS[importer] == LEVELS[target] == 0:  # the support modules are one layer
        return []
    wrong = []
    if LEVELS[target] >= LEVELS[importer]:
        wrong.append(
            f"rapport.{importer} (level {LEVELS[importer]}) may not import "
            f"rapport.{target} (level {LEVELS[target]})"
        )
    is_api = found.target.split(".")[2:3] == ["api"]
    if is_api and found.target not in SHARED_API_MODULES:
        wrong.append(f"rapport.{importer} may not import another app's api module")
    return wrong


def python_files() -> list[Path]:
    return sorted(PACKAGE_ROOT.rglob("*.py"))


def report(found: list[Import]) -> list[str]:
    lines = []
    for item in found:
        for problem in problems(item):
            where = item.path.relative_to(PACKAGE_ROOT.parent.parent)
            lines.append(f"{where}:{item.line}: {item.importer} imports {item.target}: {problem}")
    return lines


def test_every_import_points_down_the_dependency_order():
    found = [item for path in python_files() for item in imports_in(path)]

    offending = report(found)

    for line in offending:
        print(line)
    assert offending == [], "Imports against DESIGN.md's direction:\n" + "\n".join(offending)


def test_the_scan_sees_the_imports_it_guards():
    found = {(item.importer, item.target) for path in python_files() for item in imports_in(path)}

    assert len(python_files()) > 20
    assert ("rapport.timeline.services", "rapport.customers.hooks") in found
    assert ("rapport.timeline.apps", "rapport.customers.hooks") in found  # inside ready()
    assert ("rapport.customers.services.customers", "rapport.customers.hooks") in found
    assert ("rapport.api", "rapport") in found
    assert ("rapport.api", "rapport.timeline.api") in found


def _check(source: str, filename: str) -> list[str]:
    found = imports_in(PACKAGE_ROOT / filename, source)
    return [problem for item in found for problem in problems(item)]


def test_the_rules_catch_each_kind_of_offence():
    # same level: timeline must not import events
    assert _check("from rapport.events.services import emit", "timeline/services.py") == [
        "rapport.timeline (level 3) may not import rapport.events (level 3)"
    ]
    # upwards: the core must not import an optional app
    assert _check("from rapport.timeline.models import X", "customers/services.py") == [
        "rapport.customers (level 2) may not import rapport.timeline (level 3)"
    ]
    # an app importing a door
    assert _check("from rapport.api import api", "tenancy/services.py") == [
        "rapport.tenancy (level 1) may not import rapport.api (level 8)"
    ]
    # another app's api module, even from a higher level
    assert _check("from rapport.customers.api import router", "timeline/api.py") == [
        "rapport.timeline may not import another app's api module"
    ]
    # an unclassified package is reported rather than let through
    assert _check("from rapport.newthing import x", "customers/models.py") == [
        f"rapport.newthing has no level; add it to LEVELS in {Path(__file__).name}"
    ]


def test_the_rules_allow_what_the_design_allows():
    allowed = [
        ("from rapport.customers.models import Customer", "timeline/models.py"),
        ("from rapport.tenancy.api import READ", "timeline/api.py"),
        ("from rapport.exceptions import InvalidInput", "tenancy/services.py"),
        ("from rapport.pagination import paginate", "customers/api.py"),
        ("from rapport.customers.hooks import CustomerChange", "events/services.py"),
        ("from rapport.timeline.api import router", "api.py"),
        ("from rapport.events.services import emit", "cli/checks.py"),
        ("from rapport.customers.services import CustomerService", "demo/loader.py"),
        ("from rapport.exceptions import InvalidInput", "pagination.py"),
        ("from rapport import __version__", "schemas.py"),
    ]

    for source, filename in allowed:
        assert _check(source, filename) == [], source


def test_relative_imports_are_resolved_against_the_importing_package():
    source = "from ..events import services\nfrom .models import X\nfrom . import api\n"

    found = imports_in(PACKAGE_ROOT / "timeline" / "services.py", source)

    assert [item.target for item in found] == [
        "rapport.events.services",
        "rapport.timeline.models",
        "rapport.timeline.api",
    ]
    assert _check(source, "timeline/services.py") == [
        "rapport.timeline (level 3) may not import rapport.events (level 3)"
    ]
    package = imports_in(PACKAGE_ROOT / "customers" / "__init__.py", "from .hooks import x")
    assert [item.target for item in package] == ["rapport.customers.hooks"]


def test_module_names_are_resolved_from_paths():
    assert module_name(PACKAGE_ROOT / "customers" / "__init__.py") == "rapport.customers"
    assert module_name(PACKAGE_ROOT / "customers" / "services.py") == "rapport.customers.services"
    assert package_of(PACKAGE_ROOT / "customers" / "api.py") == "rapport.customers"
    assert is_module("rapport.customers.services")
    assert is_module("rapport.tenancy")
    assert not is_module("rapport.customers.services.CustomerService")
