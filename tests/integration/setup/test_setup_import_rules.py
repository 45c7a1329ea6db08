"""The setup reaches the CRM only over HTTP (it never imports the CRM server), and the ERP never imports the
integration: the ERP process's combined app lives outside both (``lead2cash.server``)."""

from __future__ import annotations

import subprocess
import sys


def _loaded(imports: str, prefix: tuple[str, ...]) -> str:
    code = f"import sys\n{imports}\nprint(sorted(m for m in sys.modules if m.startswith({prefix!r})))\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_setup_and_its_api_do_not_load_the_crm_server():
    imports = "import lead2cash.integration.setup.cli, lead2cash.integration.setup.service, lead2cash.server"
    assert _loaded(imports, ("lead2cash.crm",)) == "[]"


def test_the_erp_cli_and_api_do_not_load_the_integration():
    assert _loaded("import lead2cash.erp.cli, lead2cash.erp.api.app", ("lead2cash.integration",)) == "[]"
