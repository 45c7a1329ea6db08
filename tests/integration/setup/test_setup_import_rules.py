"""The setup reaches the CRM only over HTTP (it never imports the CRM server), and the ERP never imports the
integration: the ERP process's combined app lives outside both (``lead2cash.server``)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src" / "lead2cash"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_setup_and_its_api_never_import_the_crm_server():
    files = [*(SRC / "integration" / "setup").rglob("*.py"), *(SRC / "integration" / "api").rglob("*.py")]
    files.append(SRC / "server.py")
    offenders = {f"{p.name}: {n}" for p in files for n in _imports(p) if n.startswith("lead2cash.crm")}
    assert offenders == set()


def test_loading_the_erp_cli_and_api_loads_no_integration_module():
    code = (
        "import sys\nimport lead2cash.erp.cli, lead2cash.erp.api.app\n"
        "print(sorted(m for m in sys.modules if m.startswith('lead2cash.integration')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
