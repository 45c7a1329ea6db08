"""The standard Dynamics 365 Sales tables of a fresh org, as metadata definitions.

Values (entity sets, keys, state/status pairs, option sets) follow the Dataverse table reference (see the
entity-model notes); only the columns a lead-to-cash integration or a salesperson touches are declared.
``standard_registry()`` returns a fresh ``Registry`` each call, so run-time customizations of one org never
leak into another (tests create many orgs).
"""

from __future__ import annotations

from lead2cash.crm.metadata import AttributeDef, EntityDef, OptionDef, Registry

A = AttributeDef
O = OptionDef  # noqa: E741


def s(name: str, n: int = 100, **kw) -> AttributeDef:
    return A(name, "String", max_length=n, **kw)


def memo(name: str, n: int = 2000) -> AttributeDef:
    return A(name, "Memo", max_length=n)


def money(name: str, **kw) -> AttributeDef:
    return A(name, "Money", precision=2, **kw)


def dec(name: str, precision: int = 5, **kw) -> AttributeDef:
    return A(name, "Decimal", precision=precision, **kw)


def i(name: str, **kw) -> AttributeDef:
    return A(name, "Integer", **kw)


def b(name: str, **kw) -> AttributeDef:
    return A(name, "Boolean", **kw)


def dt(name: str, behavior: str = "UserLocal", **kw) -> AttributeDef:
    return A(name, "DateTime", date_behavior=behavior, **kw)


def lk(name: str, *targets: str, kind: str = "Lookup", **kw) -> AttributeDef:
    return A(name, kind, targets=targets, **kw)


def pick(name: str, *options: tuple[int, str], option_set: str | None = None) -> AttributeDef:
    return A(name, "Picklist", options=tuple(O(v, label) for v, label in options), option_set_name=option_set)


def states(*options: tuple[int, str, int]) -> AttributeDef:
    """statecode options as (value, label, default statuscode)."""
    return A("statecode", "State", options=tuple(O(v, label, default_status=d) for v, label, d in options))


def statuses(*options: tuple[int, str, int]) -> AttributeDef:
    """statuscode options as (value, label, statecode it belongs to)."""
    return A("statuscode", "Status", options=tuple(O(v, label, state=st) for v, label, st in options))


ACTIVE_INACTIVE = (
    states((0, "Active", 1), (1, "Inactive", 2)),
    statuses((1, "Active", 0), (2, "Inactive", 1)),
)
PAYMENT_TERMS = ((1, "Net 30"), (2, "2% 10, Net 30"), (3, "Net 45"), (4, "Net 60"))
SHIPPING_METHODS = (
    (1, "Airborne"), (2, "DHL"), (3, "FedEx"), (4, "UPS"), (5, "Postal Mail"), (6, "Full Load"), (7, "Will Call"),
)  # fmt: skip
FREIGHT_TERMS = ((1, "FOB"), (2, "No Charge"))
CUSTOMER_TYPES = (
    (1, "Competitor"), (2, "Consultant"), (3, "Customer"), (4, "Investor"), (5, "Partner"), (6, "Influencer"),
    (7, "Press"), (8, "Prospect"), (9, "Reseller"), (10, "Supplier"), (11, "Vendor"), (12, "Other"),
)  # fmt: skip
ADDRESS = (
    "line1",
    "line2",
    "line3",
    "city",
    "stateorprovince",
    "postalcode",
    "country",
    "telephone1",
    "name",
)


def address(prefix: str) -> list[AttributeDef]:
    return [s(f"{prefix}_{part}", 250 if part.startswith("line") else 100) for part in ADDRESS]


def money_fields(*names: str) -> list[AttributeDef]:
    out: list[AttributeDef] = []
    for name in names:
        out += [money(name), money(f"{name}_base", valid_for_create=False, valid_for_update=False)]
    return out


def system_columns(entity: str, pk: str, *, owned: bool, currency: bool) -> list[AttributeDef]:
    """Columns every table has, maintained by the store; owner and currency columns where they apply."""
    ro = {"valid_for_create": False, "valid_for_update": False}
    cols = [
        A(pk, "Uniqueidentifier", valid_for_update=False),
        dt("createdon", **ro),
        dt("modifiedon", **ro),
        lk("createdby", "systemuser", **ro),
        lk("modifiedby", "systemuser", **ro),
        A("versionnumber", "BigInt", **ro),
        dt("overriddencreatedon", valid_for_update=False),
    ]
    if owned:
        cols += [
            lk("ownerid", "systemuser", "team", kind="Owner"),
            lk("owningbusinessunit", "businessunit", **ro),
        ]
    if currency:
        cols += [lk("transactioncurrencyid", "transactioncurrency"), dec("exchangerate", 10, **ro)]
    return cols


def table(
    logical: str,
    entity_set: str,
    name_attr: str,
    attrs: list[AttributeDef],
    *,
    owned: bool = True,
    currency: bool = False,
    state: tuple[AttributeDef, AttributeDef] | None = None,
    display: str = "",
    display_plural: str = "",
    code: int = 0,
) -> EntityDef:
    pk = f"{logical}id"
    cols = system_columns(logical, pk, owned=owned, currency=currency) + attrs + list(state or ())
    return EntityDef(
        logical_name=logical,
        entity_set_name=entity_set,
        primary_id_attribute=pk,
        primary_name_attribute=name_attr,
        attributes={a.logical_name: a for a in cols},
        ownership="UserOwned" if owned else "OrganizationOwned",
        display_name=display or logical.capitalize(),
        display_collection_name=display_plural or entity_set.capitalize(),
        object_type_code=code,
        change_tracking=False,
    )


def _line(logical: str, entity_set: str, header: str, extra: list[AttributeDef], code: int) -> EntityDef:
    """Quote/order/invoice products share one shape."""
    attrs = [
        s(f"{logical}name", 500),
        lk(f"{header}id", header, required=True),
        lk("productid", "product"),
        lk("uomid", "uom"),
        s("productdescription", 500),
        b("isproductoverridden"),
        b("ispriceoverridden"),
        dec("quantity"),
        i("lineitemnumber"),
        i("sequencenumber"),
        s("description", 2000),
        *money_fields("priceperunit", "manualdiscountamount", "tax", "baseamount", "extendedamount"),
        *extra,
    ]
    return table(logical, entity_set, f"{logical}name", attrs, owned=False, currency=True, code=code)


def _sales_header(header_extra: list[AttributeDef]) -> list[AttributeDef]:
    return [
        s("name", 300, required=True),
        memo("description"),
        lk("customerid", "account", "contact", kind="Customer"),
        lk("opportunityid", "opportunity"),
        lk("pricelevelid", "pricelevel"),
        pick("paymenttermscode", *PAYMENT_TERMS),
        pick("shippingmethodcode", *SHIPPING_METHODS),
        pick("freighttermscode", *FREIGHT_TERMS),
        b("willcall"),
        b("ispricelocked"),
        dec("discountpercentage", 2),
        dt("requestdeliveryby", "DateOnly"),
        *address("billto"),
        *address("shipto"),
        *money_fields(
            "totalamount", "totallineitemamount", "totaltax", "discountamount", "freightamount",
            "totalamountlessfreight", "totaldiscountamount", "totallineitemdiscountamount",
        ),
        *header_extra,
    ]  # fmt: skip


def standard_registry() -> Registry:
    """A fresh registry holding the standard tables of a Sales org."""
    entities = [
        table("organization", "organizations", "name",
              [s("name", 160), lk("basecurrencyid", "transactioncurrency"), i("expirechangetrackingindays")],
              owned=False, code=1019),
        table("businessunit", "businessunits", "name",
              [s("name", 160, required=True), lk("parentbusinessunitid", "businessunit")], owned=False, code=10),
        table("team", "teams", "name",
              [s("name", 160, required=True), lk("businessunitid", "businessunit")], owned=False, code=9),
        table("role", "roles", "name",
              [s("name", 100, required=True), lk("businessunitid", "businessunit")], owned=False, code=1036),
        table("systemuser", "systemusers", "fullname", [
            s("fullname", 200, valid_for_create=False, valid_for_update=False), s("firstname", 64),
            s("lastname", 64), s("domainname", 1024), s("internalemailaddress", 100), s("title", 128),
            b("isdisabled"), b("islicensed"), lk("businessunitid", "businessunit"),
            A("azureactivedirectoryobjectid", "Uniqueidentifier"), A("applicationid", "Uniqueidentifier"),
            pick("accessmode", (0, "Read-Write"), (1, "Administrative"), (2, "Read"), (3, "Support User"),
                 (4, "Non-interactive"), (5, "Delegated Admin")),
            s("employeeid", 100), s("mobilephone", 64),
        ], owned=False, display="User", code=8),
        table("transactioncurrency", "transactioncurrencies", "currencyname", [
            s("currencyname", 100, required=True), s("isocurrencycode", 5, required=True),
            s("currencysymbol", 10), i("currencyprecision"), dec("exchangerate", 10),
        ], owned=False, state=ACTIVE_INACTIVE, display="Currency", code=9105),
        table("account", "accounts", "name", [
            s("name", 160, required=True), s("accountnumber", 20), s("telephone1", 50), s("telephone2", 50),
            s("fax", 50), s("emailaddress1", 100), s("websiteurl", 200), memo("description"),
            *address("address1"), *address("address2"),
            pick("customertypecode", *CUSTOMER_TYPES),
            pick("paymenttermscode", *PAYMENT_TERMS),
            pick("address1_shippingmethodcode", *SHIPPING_METHODS),
            pick("address1_freighttermscode", *FREIGHT_TERMS),
            *money_fields("creditlimit", "revenue"), b("creditonhold"),
            lk("primarycontactid", "contact"), lk("parentaccountid", "account"),
            lk("defaultpricelevelid", "pricelevel"),
        ], currency=True, state=ACTIVE_INACTIVE, code=1),
        table("contact", "contacts", "fullname", [
            s("fullname", 160, valid_for_create=False, valid_for_update=False), s("firstname", 50),
            s("lastname", 50), s("middlename", 50), s("salutation", 100), s("jobtitle", 100),
            s("emailaddress1", 100), s("telephone1", 50), s("mobilephone", 50), s("fax", 50), memo("description"),
            *address("address1"),
            lk("parentcustomerid", "account", "contact", kind="Customer"),
        ], currency=True, state=ACTIVE_INACTIVE, code=2),
        table("uomschedule", "uomschedules", "name", [
            s("name", 200, required=True), s("baseuomname", 100), memo("description"),
        ], owned=False, state=ACTIVE_INACTIVE, display="Unit Group", code=1056),
        table("uom", "uoms", "name", [
            s("name", 100, required=True), lk("uomscheduleid", "uomschedule", required=True),
            lk("baseuom", "uom"), dec("quantity"),
            b("isschedulebaseuom", valid_for_create=False, valid_for_update=False),
        ], owned=False, display="Unit", code=1055),
        table("product", "products", "name", [
            s("name", 100, required=True), s("productnumber", 100, required=True), memo("description"),
            lk("defaultuomscheduleid", "uomschedule"), lk("defaultuomid", "uom"), lk("pricelevelid", "pricelevel"),
            pick("producttypecode", (1, "Sales Inventory"), (2, "Miscellaneous Charges"), (3, "Services"),
                 (4, "Flat Fees")),
            pick("productstructure", (1, "Product"), (2, "Product Family"), (3, "Product Bundle")),
            i("quantitydecimal"), dec("quantityonhand"), *money_fields("price", "standardcost", "currentcost"),
            s("vendorname", 100), b("isstockitem"),
        ], owned=False, currency=True, code=1024, state=(
            states((0, "Active", 1), (1, "Retired", 2), (2, "Draft", 0), (3, "Under Revision", 3)),
            statuses((0, "Draft", 2), (1, "Active", 0), (2, "Retired", 1), (3, "Under Revision", 3)),
        )),
        table("pricelevel", "pricelevels", "name", [
            s("name", 100, required=True), memo("description"), dt("begindate"), dt("enddate"),
        ], owned=False, currency=True, display="Price List", code=1022, state=(
            states((0, "Active", 100001), (1, "Inactive", 100002)),
            statuses((100001, "Active", 0), (100002, "Inactive", 1)),
        )),
        table("productpricelevel", "productpricelevels", "productidname", [
            s("productidname", 100, valid_for_create=False, valid_for_update=False),
            lk("pricelevelid", "pricelevel", required=True), lk("productid", "product", required=True),
            lk("uomid", "uom", required=True), lk("uomscheduleid", "uomschedule"),
            *money_fields("amount"), dec("percentage", 2),
            pick("pricingmethodcode", (1, "Currency Amount"), (2, "Percent of List"),
                 (3, "Percent Markup - Current Cost"), (4, "Percent Margin - Current Cost"),
                 (5, "Percent Markup - Standard Cost"), (6, "Percent Margin - Standard Cost")),
            pick("quantitysellingcode", (1, "No Control"), (2, "Whole"), (3, "Whole and Fractional")),
            pick("roundingpolicycode", (1, "None"), (2, "Up"), (3, "Down"), (4, "To Nearest")),
        ], owned=False, currency=True, display="Price List Item", code=1026),
        table("opportunity", "opportunities", "name", [
            s("name", 300, required=True), memo("description"),
            lk("customerid", "account", "contact", kind="Customer"), lk("parentaccountid", "account"),
            lk("parentcontactid", "contact"), lk("pricelevelid", "pricelevel"),
            *money_fields("estimatedvalue", "actualvalue", "totalamount"), dt("estimatedclosedate", "DateOnly"),
            dt("actualclosedate", "DateOnly"), i("closeprobability"), b("isrevenuesystemcalculated"),
        ], currency=True, code=3, state=(
            states((0, "Open", 1), (1, "Won", 3), (2, "Lost", 4)),
            statuses((1, "In Progress", 0), (2, "On Hold", 0), (3, "Won", 1), (4, "Canceled", 2),
                     (5, "Out-Sold", 2)),
        )),
        table("quote", "quotes", "name", _sales_header([
            s("quotenumber", 100, valid_for_update=False), i("revisionnumber", valid_for_update=False),
            dt("effectivefrom", "DateOnly"), dt("effectiveto", "DateOnly"), dt("closedon", "DateOnly"),
        ]), currency=True, code=1084, state=(
            states((0, "Draft", 1), (1, "Active", 2), (2, "Won", 4), (3, "Closed", 7)),
            statuses((1, "In Progress", 0), (2, "In Progress", 1), (3, "Open", 1), (4, "Won", 2), (5, "Lost", 3),
                     (6, "Canceled", 3), (7, "Revised", 3)),
        )),
        _line("quotedetail", "quotedetails", "quote", [], 1085),
        table("salesorder", "salesorders", "name", _sales_header([
            s("ordernumber", 100, valid_for_update=False), lk("quoteid", "quote"),
            dt("datefulfilled", "DateOnly"), dt("submitdate", "DateOnly"), pick("submitstatus", (1, "Submitted")),
            memo("submitstatusdescription"), dt("lastbackofficesubmit", "DateOnly"),
        ]), currency=True, display="Order", code=1088, state=(
            states((0, "Active", 1), (1, "Submitted", 3), (2, "Canceled", 4), (3, "Fulfilled", 100001),
                   (4, "Invoiced", 100003)),
            statuses((1, "New", 0), (2, "Pending", 0), (3, "In Progress", 1), (4, "No Money", 2),
                     (100001, "Complete", 3), (100002, "Partial", 3), (100003, "Invoiced", 4)),
        )),
        _line("salesorderdetail", "salesorderdetails", "salesorder", [
            lk("quotedetailid", "quotedetail"), dec("quantityshipped"), dec("quantitybackordered"),
            dec("quantitycancelled"), dt("requestdeliveryby", "DateOnly"),
        ], 1089),
        table("invoice", "invoices", "name", _sales_header([
            s("invoicenumber", 100), lk("salesorderid", "salesorder"), dt("duedate", "DateOnly"),
            dt("datedelivered", "DateOnly"),
        ]), currency=True, code=1090, state=(
            states((0, "Active", 1), (1, "Closed", 100003), (2, "Paid", 100001), (3, "Canceled", 100003)),
            statuses((1, "New", 0), (2, "Partially Shipped", 0), (4, "Billed", 0), (5, "Booked", 0),
                     (6, "Installed", 0), (3, "Canceled (deprecated)", 1), (7, "Paid in Full (deprecated)", 1),
                     (100001, "Complete", 2), (100002, "Partial", 2), (100003, "Canceled", 3)),
        )),
        _line("invoicedetail", "invoicedetails", "invoice", [
            lk("salesorderdetailid", "salesorderdetail"), dec("quantityshipped"),
        ], 1091),
        table("post", "posts", "text", [
            s("text", 2000, required=True, valid_for_update=False), memo("largetext"),
            A("source", "Picklist", valid_for_update=False,
              options=(O(1, "Auto Post"), O(2, "Manual Post"), O(3, "ActionHub Post"))),
            A("type", "Picklist", valid_for_update=False,
              options=(O(1, "Check-in"), O(2, "Idea"), O(3, "News"), O(4, "Private Message"), O(5, "Question"),
                       O(6, "Re-post"), O(7, "Status"))),
            lk("regardingobjectid", "account", "contact", "opportunity", "quote", "salesorder", "invoice",
               "product", required=True, valid_for_update=False),
        ], owned=False, code=8000),
        *(
            table(close, f"{close}s", "subject", [
                s("subject", 200), memo("description"), lk(f"{parent}id", parent), dt("actualend"),
                *(money_fields("actualrevenue") if close == "opportunityclose" else []),
            ], code=code, state=(states((0, "Open", 1), (1, "Completed", 2), (2, "Canceled", 3)),
                                 statuses((1, "Open", 0), (2, "Completed", 1), (3, "Canceled", 2))))
            for close, parent, code in (("quoteclose", "quote", 4211), ("orderclose", "salesorder", 4209),
                                        ("opportunityclose", "opportunity", 4208))
        ),
    ]  # fmt: skip
    for entity in entities:
        if entity.logical_name == "product":
            entity.default_state = 2
        if entity.logical_name in ("quoteclose", "orderclose", "opportunityclose"):
            entity.is_activity = True
    return Registry(entities)
