"""Every integration table, registered on the ERP's metadata by importing this module.

The integration's tables live in the ERP database, so the ERP's migrations must know them; the migration
environment imports this module by name (the ERP code itself never depends on the integration).
"""

from lead2cash.integration.coupling_model import Coupling, OptionCoupling
from lead2cash.integration.mapping.model import FieldMapping, OptionMapping, TableMapping, TransformationRule
from lead2cash.integration.setup.model import ConnectionSetup
from lead2cash.integration.synclog import FullSyncLine, SyncError, SyncJob

__all__ = [
    "ConnectionSetup",
    "Coupling",
    "FieldMapping",
    "FullSyncLine",
    "OptionCoupling",
    "OptionMapping",
    "SyncError",
    "SyncJob",
    "TableMapping",
    "TransformationRule",
]
