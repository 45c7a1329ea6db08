"""Deterministic demo data at any scale: the same seed and sizes always give the same records.

Feeds the demo run and the benchmarks. Everything is generated to satisfy the ERP's rules (existing
references, ISO codes, persons belonging to customer companies, primary contacts of the right company)
and is loaded set-based through ``services.bulk``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lead2cash.erp.model import (
    Contact,
    Currency,
    CurrencyExchangeRate,
    Customer,
    CustomerPriceGroup,
    Item,
    Opportunity,
    PaymentTerms,
    Resource,
    Salesperson,
    SalesPrice,
    ShipmentMethod,
    ShippingAgent,
    UnitOfMeasure,
)
from lead2cash.erp.model.enums import ContactType, ItemType, OpportunityStatus, SalesType
from lead2cash.erp.services.bulk import insert_many, update_many
from lead2cash.erp.services.setup import bootstrap, general_setup

FIRST = [
    "Anna",
    "Lars",
    "Sofie",
    "Jan",
    "Maria",
    "Peter",
    "Ingrid",
    "Henrik",
    "Eva",
    "Thomas",
    "Karin",
    "Ole",
    "Nina",
    "Erik",
    "Lotte",
    "Bram",
    "Femke",
    "Jonas",
    "Marit",
    "Daan",
    "Sanne",
    "Mads",
    "Kari",
    "Pieter",
]
LAST = [
    "Jensen",
    "de Vries",
    "Hansen",
    "Bakker",
    "Nielsen",
    "Olsen",
    "Visser",
    "Larsen",
    "Smit",
    "Berg",
    "Pedersen",
    "Mulder",
    "Johansen",
    "de Boer",
    "Andersen",
    "Dijkstra",
    "Haugen",
    "Meijer",
    "Lund",
    "Bos",
]
PREFIX = [
    "Nordic",
    "Adatum",
    "Fabrikam",
    "Contoso",
    "Litware",
    "Northwind",
    "Tailspin",
    "Alpine",
    "Coho",
    "Wide World",
    "Proseware",
    "Fourth Coffee",
    "Trey",
    "Blue Yonder",
    "Lucerne",
    "Wingtip",
    "Margie's",
]
SUFFIX = [
    "Trading",
    "Interiors",
    "Office Supply",
    "Furniture",
    "Design",
    "Retail",
    "Wholesale",
    "Logistics",
    "Hospitality",
    "Studios",
    "Outfitters",
    "Systems",
]
FORM = ["A/S", "B.V.", "AS", "Ltd.", "Inc.", "ApS", "GmbH"]
CITIES = [
    ("NL", "Amsterdam", "1012 AB"),
    ("NL", "Utrecht", "3511 AA"),
    ("DK", "Copenhagen", "1050"),
    ("DK", "Aarhus", "8000"),
    ("NO", "Oslo", "0150"),
    ("NO", "Bergen", "5003"),
    ("GB", "London", "EC1A 1BB"),
    ("DE", "Hamburg", "20095"),
    ("US", "Atlanta", "30301"),
    ("US", "Chicago", "60601"),
]
STREETS = ["Main Street", "Market Square", "Harbour Road", "Station Lane", "Park Avenue", "Mill Road"]
PRODUCTS = ["Desk", "Chair", "Cabinet", "Lamp", "Shelf", "Table", "Sofa", "Bench", "Locker", "Whiteboard"]
STYLES = ["ATHENS", "PARIS", "ROME", "OSLO", "BERLIN", "LONDON", "MADRID", "VIENNA", "AMSTERDAM", "LISBON"]
COLOURS = ["Black", "White", "Oak", "Grey"]
CURRENCIES = [
    ("USD", "US dollar", "$", "0.92"),
    ("GBP", "Pound sterling", "£", "1.17"),
    ("DKK", "Danish krone", "kr.", "0.134"),
    ("NOK", "Norwegian krone", "kr", "0.085"),
    ("SEK", "Swedish krona", "kr", "0.087"),
]


@dataclass(frozen=True)
class DemoSize:
    customers: int = 50
    persons_per_customer: int = 2
    items: int = 40
    resources: int = 8
    salespeople: int = 6
    opportunities: int = 20


def generate(session: Session, size: DemoSize, *, seed: int = 42, lcy: str = "EUR") -> dict[str, int]:
    """Load demo master data into an ERP database that has none yet; returns counts per table."""
    if session.scalar(select(func.count()).select_from(Customer)):
        raise ValueError("The database already has customers; generate demo data into an empty database.")
    rnd = random.Random(seed)
    bootstrap(session, lcy_code=lcy)
    setup = general_setup(session)
    setup.lcy_code, setup.lcy_description = lcy, "Euro"
    counts: dict[str, int] = {}

    def load(model, rows) -> list[dict]:
        rows = list(rows)
        counts[model.__tablename__] = insert_many(session, model, rows)
        return rows

    load(
        Currency,
        [{"code": lcy, "description": "Euro", "iso_code": lcy, "iso_numeric_code": "978", "symbol": "€"}]
        + [{"code": c, "description": d, "iso_code": c, "symbol": sym} for c, d, sym, _ in CURRENCIES],
    )
    load(
        CurrencyExchangeRate,
        [
            {
                "currency_code": c,
                "starting_date": date(2026, 1, 1),
                "exchange_rate_amount": Decimal(1),
                "relational_exch_rate_amount": Decimal(rate),
            }
            for c, _, _, rate in CURRENCIES
        ],
    )
    load(
        UnitOfMeasure,
        [
            {"code": c, "description": d, "international_standard_code": iso}
            for c, d, iso in [
                ("PCS", "Piece", "EA"),
                ("BOX", "Box", "BX"),
                ("HOUR", "Hour", "HUR"),
                ("KG", "Kilogram", "KGM"),
                ("SET", "Set", "SET"),
            ]
        ],
    )
    load(
        PaymentTerms,
        [
            {"code": c, "description": d, "due_date_calculation": f}
            for c, d, f in [
                ("14 DAYS", "Net 14 days", "14D"),
                ("30 DAYS", "Net 30 days", "30D"),
                ("1M(8D)", "1 month", "1M"),
                ("CM", "Current month", "CM"),
                ("COD", "Cash on delivery", "0D"),
            ]
        ],
    )
    load(
        ShipmentMethod,
        [
            {"code": c, "description": d}
            for c, d in [
                ("CIF", "Cost insurance freight"),
                ("EXW", "Ex warehouse"),
                ("FOB", "Free on board"),
                ("PICKUP", "Pickup at location"),
            ]
        ],
    )
    load(
        ShippingAgent,
        [
            {"code": c, "name": n}
            for c, n in [
                ("DHL", "DHL Systems"),
                ("FEDEX", "Federal Express"),
                ("UPS", "UPS"),
                ("OWN LOG.", "Own logistics"),
            ]
        ],
    )
    groups = load(
        CustomerPriceGroup,
        [
            {"code": c, "description": d}
            for c, d in [
                ("RETAIL", "Retail customers"),
                ("WHOLESALE", "Wholesale customers"),
                ("EXPORT", "Export customers"),
            ]
        ],
    )
    people = load(
        Salesperson,
        [
            {
                "code": f"SP{i:02d}",
                "name": f"{rnd.choice(FIRST)} {rnd.choice(LAST)}",
                "email": f"sp{i:02d}@cronus.example",
                "job_title": "Sales representative",
            }
            for i in range(1, size.salespeople + 1)
        ],
    )
    sp_codes = [p["code"] for p in people]

    customers, companies, persons = [], [], []
    for i in range(size.customers):
        no, comp_no = f"C{10000 + 10 * i:06d}", f"CT{100000 + 10 * i:07d}"
        country, city, post_code = rnd.choice(CITIES)
        name = f"{rnd.choice(PREFIX)} {rnd.choice(SUFFIX)} {rnd.choice(FORM)}"[:100]
        salesperson = rnd.choice(sp_codes)
        address = f"{rnd.randint(1, 250)} {rnd.choice(STREETS)}"
        domain = f"c{i}.example.com"
        customers.append(
            {
                "no": no,
                "name": name,
                "address": address,
                "post_code": post_code,
                "city": city,
                "country_region_code": country,
                "phone_no": f"+{rnd.randint(10, 99)} {rnd.randint(1000000, 9999999)}",
                "email": f"info@{domain}",
                "home_page": f"www.{domain}",
                "salesperson_code": salesperson,
                "payment_terms_code": rnd.choice(["14 DAYS", "30 DAYS", "1M(8D)"]),
                "shipment_method_code": rnd.choice(["CIF", "EXW", "FOB"]),
                "shipping_agent_code": rnd.choice(["DHL", "UPS"]),
                "customer_price_group": rnd.choice(groups)["code"] if rnd.random() < 0.6 else None,
                "currency_code": rnd.choice(CURRENCIES)[0] if rnd.random() < 0.15 else None,
                "credit_limit_lcy": Decimal(rnd.randrange(0, 100_000, 500)),
            }
        )
        companies.append(
            {
                "no": comp_no,
                "type": ContactType.COMPANY,
                "company_no": comp_no,
                "company_name": name,
                "name": name,
                "address": address,
                "post_code": post_code,
                "city": city,
                "country_region_code": country,
                "salesperson_code": salesperson,
                "customer_no": no,
            }
        )
        for p in range(size.persons_per_customer):
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            persons.append(
                {
                    "no": f"CT{100000 + 10 * i + p + 1:07d}",
                    "type": ContactType.PERSON,
                    "company_no": comp_no,
                    "company_name": name,
                    "name": f"{first} {last}",
                    "first_name": first,
                    "surname": last,
                    "job_title": "Purchaser",
                    "email": f"{first.lower()}.{last.lower().replace(' ', '')}@{domain}",
                    "salesperson_code": salesperson,
                    "city": city,
                    "country_region_code": country,
                }
            )
    load(Customer, customers)
    load(Contact, companies + persons)
    # customer and contact refer to each other: the primary contact is set once both exist
    update_many(
        session,
        Customer,
        [
            {"no": c["customer_no"], "primary_contact_no": p["no"]}
            for c, p in zip(companies, persons[:: size.persons_per_customer or 1], strict=False)
            if size.persons_per_customer
        ],
    )
    counts["contact"] = len(companies) + len(persons)

    items = load(
        Item,
        [
            {
                "no": f"{1896 + i}-S",
                "type": ItemType.INVENTORY,
                "base_unit_of_measure": "PCS",
                "description": f"{rnd.choice(STYLES)} {rnd.choice(PRODUCTS)} {rnd.choice(COLOURS)}",
                "unit_price": Decimal(rnd.randrange(2_000, 200_000)) / 100,
                "unit_cost": Decimal(rnd.randrange(1_000, 100_000)) / 100,
                "gross_weight": Decimal(rnd.randrange(1, 80)),
                "vendor_no": f"V{rnd.randint(10000, 99999)}",
            }
            for i in range(size.items)
        ],
    )
    load(
        Resource,
        [
            {
                "no": f"R{10 + 10 * i:04d}",
                "name": f"{rnd.choice(FIRST)} {rnd.choice(LAST)}",
                "base_unit_of_measure": "HOUR",
                "unit_price": Decimal(rnd.randrange(60, 180)),
                "unit_cost": Decimal(rnd.randrange(30, 90)),
                "capacity": Decimal(160),
            }
            for i in range(size.resources)
        ],
    )
    load(
        SalesPrice,
        [
            {
                "item_no": item["no"],
                "sales_type": SalesType.CUSTOMER_PRICE_GROUP,
                "sales_code": group["code"],
                "unit_of_measure_code": "PCS",
                "unit_price": (item["unit_price"] * Decimal(factor)).quantize(Decimal("0.01")),
            }
            for item in items
            for group, factor in zip(groups, ("0.95", "0.85", "0.9"), strict=True)
            if rnd.random() < 0.5
        ],
    )
    today = date(2026, 11, 1)
    load(
        Opportunity,
        [
            {
                "no": f"OP{i + 1:06d}",
                "description": f"{rnd.choice(PRODUCTS)}s for {rnd.choice(PREFIX)}",
                "contact_no": (person := rnd.choice(persons))["no"] if persons else None,
                "contact_company_no": person["company_no"] if persons else None,
                "salesperson_code": rnd.choice(sp_codes),
                "status": rnd.choice([OpportunityStatus.NOT_STARTED, OpportunityStatus.IN_PROGRESS]),
                "estimated_value_lcy": Decimal(rnd.randrange(1_000, 250_000, 100)),
                "probability_pct": rnd.choice([10, 25, 50, 75]),
                "estimated_closing_date": today + timedelta(days=rnd.randint(7, 120)),
                "creation_date": today,
            }
            for i in range(size.opportunities)
        ],
    )
    session.flush()
    return counts
