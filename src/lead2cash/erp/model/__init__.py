"""The ERP's tables. Importing this package registers every model on ``Base.metadata``."""

from lead2cash.erp.model.base import Base, Outbox, RowVersionCounter, Tombstone, Versioned
from lead2cash.erp.model.documents import (
    SalesDocumentStatus,
    SalesDocumentType,
    SalesHeader,
    SalesHeaderArchive,
    SalesLine,
    SalesLineType,
)
from lead2cash.erp.model.items import Item, Resource, UnitOfMeasure
from lead2cash.erp.model.ledger import (
    CustLedgerEntry,
    DetailedCustLedgEntry,
    EntryNoCounter,
    ItemLedgerEntry,
    SalesInvoiceHeader,
    SalesInvoiceLine,
    SalesShipmentHeader,
    SalesShipmentLine,
)
from lead2cash.erp.model.master import (
    Contact,
    Currency,
    CurrencyExchangeRate,
    Customer,
    CustomerPriceGroup,
    PaymentTerms,
    Salesperson,
    ShipmentMethod,
    ShippingAgent,
)
from lead2cash.erp.model.pricing import SalesPrice
from lead2cash.erp.model.relationship import Opportunity
from lead2cash.erp.model.setup import ErpUser, GeneralSetup, NoSeries, SalesSetup

__all__ = [
    "Base",
    "Contact",
    "Currency",
    "CurrencyExchangeRate",
    "CustLedgerEntry",
    "Customer",
    "CustomerPriceGroup",
    "DetailedCustLedgEntry",
    "EntryNoCounter",
    "ErpUser",
    "GeneralSetup",
    "Item",
    "ItemLedgerEntry",
    "NoSeries",
    "Opportunity",
    "Outbox",
    "PaymentTerms",
    "Resource",
    "RowVersionCounter",
    "SalesDocumentStatus",
    "SalesDocumentType",
    "SalesHeader",
    "SalesHeaderArchive",
    "SalesInvoiceHeader",
    "SalesInvoiceLine",
    "SalesLine",
    "SalesLineType",
    "SalesPrice",
    "SalesSetup",
    "SalesShipmentHeader",
    "SalesShipmentLine",
    "Salesperson",
    "ShipmentMethod",
    "ShippingAgent",
    "Tombstone",
    "UnitOfMeasure",
    "Versioned",
]
