"""The integration's background job handlers, registered when a worker imports this module.

``lead2cash.jobs.registry.DEFAULT_MODULES`` names this module, so every worker (embedded or scale-out)
knows the integration's jobs without configuration. Each import below registers the handlers of one
part of the integration.
"""

from lead2cash.integration import recurring  # noqa: F401  (the recurring run of a mapping)
from lead2cash.integration.manual import jobs as manual_jobs  # noqa: F401  (sync records, full sync, couple)
