"""The layering contracts of .importlinter (run by scripts/test) hold for the code, and each
one fails on the kind of import it exists to forbid: a copy of the project's packages gets
one offending module at a time and `lint-imports` must name the broken contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("server", "memoryserver", "providers", "upstream", "longterm_app", "sessions_app")
PACKAGES += ("summary_views_app", "rest", "mcp_app", "console")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# The contracts' names in .importlinter.
LAYERS = "Layers: server, transports, upstream translation, apps, providers, core"
APP_LAYERS = "Inside an app: jobs, services, repository"
REDIS = "Redis only in repositories and the client factory"
CYCLES = "No import cycles inside a package"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / ".importlinter")]
    return subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=120)


def _not_python(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__" or (Path(folder, n).is_file() and not n.endswith(".py"))]


def broken_contracts(result: subprocess.CompletedProcess[str]) -> str:
    """The report with its line wrapping undone."""
    return " ".join(result.stdout.split())


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's packages (Python files only) and its .importlinter, in a scratch folder."""
    copy = tmp_path_factory.mktemp("layering")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=_not_python)
    shutil.copy(ROOT / ".importlinter", copy / ".importlinter")
    return copy


def test_the_code_keeps_every_contract(tree: Path):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in broken_contracts(result)


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        # Core reaching up into an app or a model provider; a transport into the server
        # wiring or another transport; an app on the upstream translation above it.
        ("memoryserver/uses_an_app.py", "import longterm_app.services\n", LAYERS),
        ("memoryserver/uses_a_model.py", "import providers.llm\n", LAYERS),
        ("rest/uses_the_server.py", "import server.urls\n", LAYERS),
        ("rest/uses_mcp.py", "import mcp_app.errors\n", LAYERS),
        ("sessions_app/uses_upstream.py", "import upstream.convert\n", LAYERS),
        # A repository calling back into its services; a service into a view.
        ("longterm_app/repository.py", "import longterm_app.services\n", APP_LAYERS),
        ("sessions_app/services.py", "import rest.seed.sessions\n", APP_LAYERS),
        # Redis outside a repository and the client factory.
        ("console/direct.py", "import redis\n", REDIS),
        ("upstream/direct.py", "from redis.exceptions import ResponseError\n", REDIS),
        # Two core modules importing each other.
        ("memoryserver/cycle_a.py", "import memoryserver.cycle_b\n", CYCLES),
    ],
)
def test_an_offending_import_breaks_its_contract(tree: Path, module: str, source: str, broken: str):
    path = tree / module
    original = path.read_text() if path.exists() else None
    extra = tree / "memoryserver/cycle_b.py"
    try:
        path.write_text((original or "") + source)
        if "cycle_a" in module:
            extra.write_text("import memoryserver.cycle_a\n")
        result = lint_imports(tree)
    finally:
        if original is None:
            path.unlink()
        else:
            path.write_text(original)
        extra.unlink(missing_ok=True)
    assert result.returncode == 1, result.stdout
    report = broken_contracts(result)
    assert f"{broken} BROKEN" in report
