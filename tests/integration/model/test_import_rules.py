"""The integration reaches the CRM only over HTTP, and the ERP does not depend on the integration."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src" / "lead2cash"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("integration", ("lead2cash.crm",)), ("erp", ("lead2cash.integration", "lead2cash.crm"))],
)
def test_import_rules(package, forbidden):
    offenders = {
        f"{path.relative_to(SRC)} imports {name}"
        for path in (SRC / package).rglob("*.py")
        for name in imported_modules(path)
        if name.startswith(forbidden)
    }
    assert offenders == set()
