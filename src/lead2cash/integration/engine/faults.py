"""Named crash points for the crash-safety tests (``L2C_FAULT_AT=<step>``).

The engine promises at-least-once delivery with an effectively-once effect: whatever instant the process
dies at, a rerun loses no change and creates no duplicate. Tests prove it by starting a sync in a child
process with ``L2C_FAULT_AT`` naming one of ``STEPS``; when the engine reaches that step the process ends
at once with ``os._exit`` (no cleanup, no commit, no flushed buffers — like a SIGKILL), and the test then
reruns the sync and compares both sides. Outside tests the variable is unset and ``reached`` costs one
dictionary look-up.
"""

from __future__ import annotations

import os

#: the steps a pass announces, in the order a page goes through them
STEPS = (
    "after_erp_read",  # ERP -> CRM: a page selected, nothing written yet
    "after_crm_write",  # the page's bulk write applied in the CRM, nothing committed in the ERP
    "before_erp_commit",  # couplings / ERP records written in the session, not committed
    "after_erp_commit",  # the page committed, the pass not finished
    "after_crm_read",  # CRM -> ERP: a page of changes read, nothing written
    "after_watermark",  # the pass's final watermark committed
)

EXIT_CODE = 86


def reached(step: str) -> None:
    """End the process immediately when ``L2C_FAULT_AT`` names ``step`` (tests only)."""
    wanted = os.environ.get("L2C_FAULT_AT")
    if wanted and wanted == step:
        os._exit(EXIT_CODE)
