"""The job queue knows job names and payloads, not business logic: it never imports the integration or
the CRM (the integration registers its handlers with the queue, not the other way round)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

JOBS = Path(__file__).resolve().parents[2] / "src" / "lead2cash" / "jobs"
FORBIDDEN = ("lead2cash.integration", "lead2cash.crm")


def test_no_jobs_module_imports_the_integration_or_the_crm():
    offenders = set()
    for path in JOBS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders.update(f"{path.name} imports {n}" for n in names if n.startswith(FORBIDDEN))
    assert offenders == set()


def test_loading_every_jobs_module_loads_neither():
    code = (
        "import sys\n"
        "import lead2cash.jobs, lead2cash.jobs.cli, lead2cash.jobs.runtime\n"
        "import lead2cash.jobs.sqlite_runner, lead2cash.jobs.procrastinate_runner\n"
        f"print(sorted(m for m in sys.modules if m.startswith({FORBIDDEN!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
