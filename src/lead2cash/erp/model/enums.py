"""Option values of ERP fields, spelled as Business Central shows them to users."""

from __future__ import annotations

from enum import StrEnum


class CustomerBlocked(StrEnum):
    NONE = " "
    SHIP = "Ship"
    INVOICE = "Invoice"
    ALL = "All"


class ContactType(StrEnum):
    COMPANY = "Company"
    PERSON = "Person"


class ItemType(StrEnum):
    INVENTORY = "Inventory"
    SERVICE = "Service"
    NON_INVENTORY = "Non-Inventory"


class ResourceType(StrEnum):
    PERSON = "Person"
    MACHINE = "Machine"


class SalesType(StrEnum):
    CUSTOMER = "Customer"
    CUSTOMER_PRICE_GROUP = "Customer Price Group"
    ALL_CUSTOMERS = "All Customers"


class OpportunityStatus(StrEnum):
    NOT_STARTED = "Not Started"
    IN_PROGRESS = "In Progress"
    WON = "Won"
    LOST = "Lost"


class WriteInProductType(StrEnum):
    ITEM = "Item"
    RESOURCE = "Resource"


class ArchivePolicy(StrEnum):
    NEVER = "Never"
    QUESTION = "Question"
    ALWAYS = "Always"


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    ORDER_PROCESSOR = "order_processor"
    INTEGRATION = "integration"
