"""The standard mappings M1-M14 ("Use default synchronization setup"), field row by field row.

Field names are the ERP models' attributes and the CRM tables' attribute logical names; CRM filters use
Web API property names. Rows of the reference setup that cannot be expressed against these two models are
listed in ``OMITTED`` with the reason, instead of being shipped as rows that could never work. Rows a
Business Central setup writes as "owner type" or "parent customer type" constants are not needed here:
the Web API binds a lookup to a typed entity set, so the row's ``lookup`` target carries that information.
"""

from __future__ import annotations

from lead2cash.integration.mapping.enums import Direction, MappingKind
from lead2cash.integration.mapping.filters import In, all_of, eq, ne
from lead2cash.integration.mapping.spec import (
    FieldSpec,
    MappingSpec,
    Omitted,
    address,
    both,
    constant_to_crm,
    constant_to_erp,
    from_crm,
    owner,
    to_crm,
)

TO, FROM, BOTH = Direction.TO_CRM, Direction.FROM_CRM, Direction.BOTH
ACTIVE = 0  # statecode of active accounts, contacts, products
CUSTOMER_TYPE = 3  # account customertypecode "Customer"
SALES_INVENTORY, SERVICES = 1, 3  # product producttypecode
SUBMITTED = 1  # salesorder statecode
CURRENCY_AMOUNT = "1"  # productpricelevel pricingmethodcode "Currency Amount"

OPTION_DEPENDENCIES = ("PAYMENT TERMS", "SHIPMENT METHOD", "SHIPPING AGENT")


def _option_mapping(name: str, erp_table: str, account_attr: str, document_attr: str) -> MappingSpec:
    documents = tuple((entity, document_attr) for entity in ("quote", "salesorder", "invoice"))
    return MappingSpec(
        name=name,
        erp_table=erp_table,
        crm_entity="account",
        direction=TO,
        kind=MappingKind.OPTION,
        option_sets=(("account", account_attr), *documents),
        fields=(to_crm("code", account_attr, match=True),),
        job_inactivity_timeout_minutes=1440,
        job_category="OPTION",
    )


def _customer_fields() -> tuple[FieldSpec, ...]:
    return (
        owner(),
        both("name", "name"),
        both("address", "address1_line1"),
        both("address_2", "address1_line2"),
        both("post_code", "address1_postalcode"),
        both("city", "address1_city"),
        both("country_region_code", "address1_country", validate=False),
        both("county", "address1_stateorprovince"),
        both("currency_code", "transactioncurrencyid", lookup="transactioncurrency"),
        both("email", "emailaddress1"),
        both("fax_no", "fax"),
        both("home_page", "websiteurl"),
        both("phone_no", "telephone1"),
        both("shipment_method_code", "address1_freighttermscode"),
        both("shipping_agent_code", "address1_shippingmethodcode"),
        both("payment_terms_code", "paymenttermscode"),
        both("primary_contact_no", "primarycontactid", lookup="contact", clear_on_failed_sync=True),
        to_crm("credit_limit_lcy", "creditlimit"),
        to_crm("no", "accountnumber", enabled=False),
        both("mobile_phone_no", "telephone2", enabled=False),
    )


def _contact_fields() -> tuple[FieldSpec, ...]:
    return (
        owner(),
        both("currency_code", "transactioncurrencyid", lookup="transactioncurrency"),
        both("address", "address1_line1"),
        both("address_2", "address1_line2"),
        both("post_code", "address1_postalcode"),
        both("city", "address1_city"),
        both("country_region_code", "address1_country"),
        both("county", "address1_stateorprovince"),
        both("email", "emailaddress1"),
        both("fax_no", "fax"),
        both("phone_no", "telephone1"),
        both("mobile_phone_no", "mobilephone"),
        both("first_name", "firstname"),
        both("middle_name", "middlename"),
        both("surname", "lastname"),
        constant_to_erp("type", "Person"),
    )


def _product_fields(name_field: str, extra: tuple[FieldSpec, ...]) -> tuple[FieldSpec, ...]:
    return (
        to_crm("no", "productnumber"),
        both(name_field, "name"),
        to_crm("unit_price", "price"),
        to_crm("unit_cost", "standardcost"),
        to_crm("unit_cost", "currentcost"),
        *extra,
    )


def _document_header_fields(number_attr: str) -> list[FieldSpec]:
    return [
        to_crm("no", number_attr),
        owner(),
        to_crm("currency_code", "transactioncurrencyid", lookup="transactioncurrency"),
        *address("ship_to", "shipto"),
        *address("bill_to", "billto"),
        to_crm("amount", "totalamountlessfreight"),
        to_crm("amount_including_vat", "totalamount"),
        to_crm("invoice_discount_amount", "discountamount"),
        to_crm("shipping_agent_code", "shippingmethodcode"),
        to_crm("payment_terms_code", "paymenttermscode"),
    ]


def _order_fields() -> tuple[FieldSpec, ...]:
    rows = _document_header_fields("ordernumber")
    # The CRM order number is set when the order is created in the CRM and cannot be updated afterwards;
    # the ERP keeps it in "your reference" (O3). Shipped disabled so a user sees it and why.
    rows[0] = to_crm("no", "ordernumber", enabled=False)
    return (
        *rows,
        to_crm("last_shipment_date", "datefulfilled"),
        to_crm("requested_delivery_date", "requestdeliveryby"),
    )


MAPPINGS: tuple[MappingSpec, ...] = (
    MappingSpec(  # M1
        name="SALESPEOPLE",
        erp_table="salesperson",
        crm_entity="systemuser",
        direction=FROM,
        # enabled, licensed, and not an application user (the integration user is one, S4)
        crm_filter=all_of(eq("isdisabled", False), eq("islicensed", True), eq("applicationid", None)),
        fields=(
            from_crm("email", "internalemailaddress"),
            from_crm("name", "fullname"),
            from_crm("phone_no", "mobilephone"),
        ),
        job_inactivity_timeout_minutes=1440,
    ),
    MappingSpec(  # M2
        name="CUSTOMER",
        erp_table="customer",
        crm_entity="account",
        direction=BOTH,
        erp_filter=eq("blocked", " "),
        crm_filter=all_of(eq("statecode", ACTIVE), eq("customertypecode", CUSTOMER_TYPE)),
        dependencies=("SALESPEOPLE", "CURRENCY", *OPTION_DEPENDENCIES),
        fields=_customer_fields(),
        job_category="CUST",
    ),
    MappingSpec(  # M3
        name="CONTACT",
        erp_table="contact",
        crm_entity="contact",
        direction=BOTH,
        erp_filter=all_of(eq("type", "Person"), ne("company_no", "")),
        crm_filter=all_of(eq("statecode", ACTIVE), ne("parentcustomerid_account/accountid", None)),
        dependencies=("CUSTOMER",),
        fields=_contact_fields(),
        job_category="CUST",
    ),
    MappingSpec(  # M4
        name="CURRENCY",
        erp_table="currency",
        crm_entity="transactioncurrency",
        direction=TO,
        fields=(
            to_crm("code", "isocurrencycode", match=True),
            to_crm("symbol", "currencysymbol"),
            to_crm("description", "currencyname"),
        ),
        create_new_if_no_match=True,
        sync_after_bulk_coupling=True,
    ),
    _option_mapping("PAYMENT TERMS", "payment_terms", "paymenttermscode", "paymenttermscode"),  # M14
    _option_mapping("SHIPMENT METHOD", "shipment_method", "address1_freighttermscode", "freighttermscode"),
    _option_mapping("SHIPPING AGENT", "shipping_agent", "address1_shippingmethodcode", "shippingmethodcode"),
    MappingSpec(  # M5
        name="UNIT OF MEASURE",
        erp_table="unit_of_measure",
        crm_entity="uomschedule",
        direction=TO,
        fields=(to_crm("code", "baseuomname", match=True),),
    ),
    MappingSpec(  # M6
        name="ITEM-PRODUCT",
        erp_table="item",
        crm_entity="product",
        direction=BOTH,
        erp_filter=eq("blocked", False),
        crm_filter=all_of(eq("producttypecode", SALES_INVENTORY), eq("statecode", ACTIVE)),
        dependencies=("UNIT OF MEASURE",),
        fields=_product_fields(
            "description",
            (both("base_unit_of_measure", "defaultuomscheduleid", lookup="uomschedule"),),
        ),
        job_inactivity_timeout_minutes=1440,
    ),
    MappingSpec(  # M7
        name="RESOURCE-PRODUCT",
        erp_table="resource",
        crm_entity="product",
        direction=BOTH,
        erp_filter=eq("blocked", False),
        crm_filter=all_of(eq("producttypecode", SERVICES), eq("statecode", ACTIVE)),
        dependencies=("UNIT OF MEASURE",),
        fields=_product_fields(
            "name",
            (
                to_crm("capacity", "quantityonhand"),
                to_crm("base_unit_of_measure", "defaultuomscheduleid", lookup="uomschedule"),
            ),
        ),
    ),
    MappingSpec(  # M8
        name="CUSTPRCGRP-PRICE",
        erp_table="customer_price_group",
        crm_entity="pricelevel",
        direction=TO,
        dependencies=("CURRENCY", "ITEM-PRODUCT"),
        fields=(to_crm("code", "name"),),
        job_inactivity_timeout_minutes=1440,
    ),
    MappingSpec(  # M9
        name="SALESPRC-PRODPRICE",
        erp_table="sales_price",
        crm_entity="productpricelevel",
        direction=TO,
        erp_filter=all_of(eq("sales_type", "Customer Price Group"), ne("sales_code", "")),
        dependencies=("CUSTPRCGRP-PRICE", "ITEM-PRODUCT"),
        sync_only_coupled=False,
        fields=(
            to_crm("sales_code", "pricelevelid", lookup="pricelevel"),
            to_crm("item_no", "productid", lookup="product"),
            to_crm("currency_code", "transactioncurrencyid", lookup="transactioncurrency"),
            constant_to_crm("pricingmethodcode", CURRENCY_AMOUNT),
            to_crm("unit_price", "amount"),
        ),
        job_inactivity_timeout_minutes=1440,
    ),
    MappingSpec(  # M10
        name="OPPORTUNITY",
        erp_table="opportunity",
        crm_entity="opportunity",
        direction=BOTH,
        erp_filter=In("status", ("Not Started", "In Progress")),
        dependencies=("CONTACT",),
        sync_only_coupled=False,
        fields=(
            owner(),
            both("description", "name"),
            to_crm("contact_no", "parentcontactid", lookup="contact"),
            to_crm("contact_company_no", "parentaccountid", lookup="account"),
            to_crm("estimated_value_lcy", "estimatedvalue"),
            to_crm("estimated_closing_date", "estimatedclosedate"),
            to_crm("date_closed", "actualclosedate"),
            to_crm("probability_pct", "closeprobability"),
        ),
        job_interval_minutes=None,  # synchronized manually or when created from either side
    ),
    MappingSpec(  # M11
        name="POSTEDSALESINV-INV",
        erp_table="sales_invoice_header",
        crm_entity="invoice",
        direction=TO,
        dependencies=("ITEM-PRODUCT", "RESOURCE-PRODUCT", "OPPORTUNITY"),
        fields=(
            *_document_header_fields("invoicenumber"),
            to_crm("due_date", "duedate"),
            to_crm("shipment_date", "datedelivered"),
            to_crm("work_description", "description"),
        ),
        job_inactivity_timeout_minutes=1440,
    ),
    MappingSpec(  # M12
        name="POSTEDSALESLINE-INV",
        erp_table="sales_invoice_line",
        crm_entity="invoicedetail",
        direction=TO,
        sync_only_coupled=False,
        fields=(
            to_crm("quantity", "quantity"),
            to_crm("line_discount_amount", "manualdiscountamount"),
            to_crm("unit_price", "priceperunit"),
            constant_to_crm("ispriceoverridden", "true"),
            to_crm("amount", "baseamount"),
            to_crm("amount_including_vat", "extendedamount"),
        ),
        job_interval_minutes=None,  # synchronized with its header only
    ),
    MappingSpec(  # M13
        name="SALESORDER-ORDER",
        erp_table="sales_header",
        crm_entity="salesorder",
        direction=TO,
        # released orders, and orders waiting for a prepayment (O10)
        erp_filter=all_of(eq("document_type", "Order"), In("status", ("Released", "Pending Prepayment"))),
        crm_filter=eq("statecode", SUBMITTED),
        dependencies=(
            "CUSTOMER",
            "CURRENCY",
            "UNIT OF MEASURE",
            "ITEM-PRODUCT",
            "RESOURCE-PRODUCT",
            "CUSTPRCGRP-PRICE",
            *OPTION_DEPENDENCIES,
        ),
        fields=_order_fields(),
    ),
)


OMITTED: tuple[Omitted, ...] = (
    Omitted("SALESPEOPLE", "Job Title <-> jobtitle (disabled)", "the CRM user table has no jobtitle column"),
    Omitted("SALESPEOPLE", "E-Mail 2 <-> personalemailaddress (disabled)", "neither side has the field"),
    Omitted("CUSTOMER", "Contact <-> address1_primarycontactname", "the CRM account has no such column"),
    Omitted("CONTACT", "Home Page <-> websiteurl", "the CRM contact has no websiteurl column"),
    Omitted("CONTACT", "Pager <-> pager", "neither side has the field"),
    Omitted("CONTACT", "Salutation Code <-> salutation (disabled)", "the ERP contact has no salutation code"),
    Omitted("CONTACT", "const ParentCustomerIdType = account", "the contact rule binds parentcustomerid_account"),
    Omitted("ITEM-PRODUCT", "Unit Volume -> stockvolume", "the CRM product has no stockvolume column"),
    Omitted("ITEM-PRODUCT", "Gross Weight -> stockweight", "the CRM product has no stockweight column"),
    Omitted("ITEM-PRODUCT", "Vendor No. -> vendorid", "the CRM product has no vendorid column"),
    Omitted("ITEM-PRODUCT", "Vendor Item No. -> vendorpartnumber", "the CRM product has no vendorpartnumber"),
    Omitted("ITEM-PRODUCT", "Inventory -> quantityonhand", "inventory is not a stored field of the ERP item"),
    Omitted("RESOURCE-PRODUCT", "Vendor No. -> vendorid", "neither side has the field"),
    Omitted("SALESPRC-PRODPRICE", "Item No. -> productnumber", "the CRM price list item has no productnumber"),
    Omitted("OPPORTUNITY", "Calcd. Current Value (LCY) -> actualvalue", "the ERP opportunity has no such field"),
)
