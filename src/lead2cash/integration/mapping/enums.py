"""Option values of the integration tables, named as the integration setup pages show them.

Stored as their text values (not native database enums), like the ERP's own option fields, so adding a
value later needs no schema change on PostgreSQL.
"""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    """Which way data flows: ERP → CRM, CRM → ERP, or both (ToIntegrationTable / FromIntegrationTable)."""

    TO_CRM = "To CRM"
    FROM_CRM = "From CRM"
    BOTH = "Bidirectional"

    def includes(self, other: Direction) -> bool:
        """True when a pass in direction ``other`` (TO_CRM or FROM_CRM) uses something set to ``self``."""
        return self is Direction.BOTH or self is other


class MappingKind(StrEnum):
    """A record mapping pairs rows with rows; an option mapping pairs ERP code records with CRM choices."""

    RECORD = "Record"
    OPTION = "Option"


class UpdateConflict(StrEnum):
    """What to do when both sides changed the same field since the last synchronization."""

    NONE = "None"
    SEND_TO_CRM = "Send update to integration"
    GET_FROM_CRM = "Get update from integration"


class DeletionConflict(StrEnum):
    """What to do when the coupled counterpart of a changed record was deleted."""

    NONE = "None"
    REMOVE_COUPLING = "Remove coupling"
    RESTORE_RECORDS = "Restore records"


class FieldStatus(StrEnum):
    ENABLED = "Enabled"
    DISABLED = "Disabled"


class SyncResult(StrEnum):
    SUCCESS = "Success"
    FAILURE = "Failure"


class JobType(StrEnum):
    SYNCHRONIZATION = "Synchronization"
    COUPLING = "Coupling"
    UNCOUPLING = "Uncoupling"


class Recommendation(StrEnum):
    """Initial synchronization recommendation of a full-synchronization line."""

    FULL_SYNC = "Full synchronization"
    COUPLE = "Couple records"
    NO_RECORDS = "No records found"


class LineStatus(StrEnum):
    """Status of the background job running a full-synchronization line (blank = not started)."""

    NOT_STARTED = ""
    READY = "Ready"
    IN_PROCESS = "In process"
    ERROR = "Error"
    ON_HOLD = "On hold"
    FINISHED = "Finished"


class PassStatus(StrEnum):
    """Status of one pass (to CRM / from CRM) of a full-synchronization line."""

    NONE = ""
    IN_PROCESS = "In process"
    ERROR = "Error"
    SUCCESS = "Success"


class TransformationKind(StrEnum):
    """What a transformation rule does to a text value before it is transferred."""

    TRIM = "Trim"
    UPPERCASE = "Uppercase"
    LOWERCASE = "Lowercase"
    TITLECASE = "Title case"
    REPLACE = "Replace"
    REGEX_REPLACE = "Regular expression replace"
    SUBSTRING = "Extract substring"
    REMOVE_NON_ALPHANUMERIC = "Remove non-alphanumerics"
