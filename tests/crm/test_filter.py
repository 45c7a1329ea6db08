"""`$filter` examples as real clients send them (Microsoft's Python client, the Dataverse docs, the
integration), run against the standard Sales tables in SQLite."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from lead2cash.crm.catalog import standard_registry
from lead2cash.crm.odata.errors import DataverseError
from lead2cash.crm.odata.filter import FilterContext, compile_filter
from lead2cash.crm.odata.filter_text import alias_values, prepare
from lead2cash.crm.store import build_table

REGISTRY = standard_registry()
METADATA = sa.MetaData()
TABLES = {entity.logical_name: build_table(entity, METADATA) for entity in REGISTRY}
NOW = datetime(2024, 3, 15, 10, 30, tzinfo=UTC)
USER = "5a1c3f3e-0000-4000-8000-000000000001"
CONTOSO, FABRIKAM, LITWARE = (str(uuid.UUID(int=n)) for n in (1, 2, 3))
JO, LI = (str(uuid.UUID(int=n)) for n in (11, 12))


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def engine(request):
    """An empty database with the Sales tables: in-memory SQLite, or a schema of its own on PostgreSQL."""
    if request.param == "sqlite":
        engine = sa.create_engine("sqlite://", poolclass=StaticPool)
        METADATA.create_all(engine)
        yield engine
        return
    admin = request.getfixturevalue("postgres_admin")
    schema = f"l2c_filter_{uuid.uuid4().hex[:12]}"
    with admin.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(admin.url.render_as_string(hide_password=False))
    url = url.set(query={**url.query, "options": f"-csearch_path={schema}"})
    engine = sa.create_engine(url)
    try:
        METADATA.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(scope="module")
def conn(engine):
    with engine.begin() as c:
        c.execute(
            sa.insert(TABLES["contact"]),
            [
                {
                    "contactid": JO,
                    "fullname": "Jo Smith",
                    "parentcustomerid": CONTOSO,
                    "parentcustomerid_type": "account",
                },
                {"contactid": LI, "fullname": "Li Wei", "parentcustomerid": JO, "parentcustomerid_type": "contact"},
            ],
        )
        accounts = [
                {
                    "accountid": CONTOSO, "name": "Contoso Ltd", "accountnumber": "C-1", "statecode": 0,
                    "customertypecode": 3, "creditlimit": Decimal("1000.50"), "primarycontactid": JO,
                    "createdon": datetime(2024, 3, 15, 8, tzinfo=UTC), "ownerid": USER, "creditonhold": False,
                },
                {
                    "accountid": FABRIKAM, "name": "Fabrikam O'Neil", "accountnumber": "F_2", "statecode": 1,
                    "customertypecode": 8, "creditlimit": None, "parentaccountid": CONTOSO,
                    "createdon": datetime(2024, 2, 1, tzinfo=UTC), "creditonhold": True,
                },
                {
                    "accountid": LITWARE, "name": "Litware 100%", "accountnumber": None, "statecode": 0,
                    "customertypecode": None, "creditlimit": Decimal("20"), "parentaccountid": FABRIKAM,
                    "createdon": None, "primarycontactid": LI,
                },
        ]  # fmt: skip
        for row in accounts:
            c.execute(sa.insert(TABLES["account"]), row)
    with engine.connect() as connection:
        yield connection


def names(conn, text, entity="account", aliases=None):
    table = TABLES[entity]
    resolve = lambda n: (REGISTRY.get(n), TABLES[n])  # noqa: E731
    context = FilterContext(now=NOW, caller_id=USER, resolve=resolve, registry=REGISTRY)
    condition = compile_filter(text, REGISTRY.get(entity), table, aliases=aliases, context=context)
    column = table.c[REGISTRY.get(entity).primary_name_attribute]
    return sorted(conn.scalars(sa.select(column).where(condition)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("statecode eq 0", ["Contoso Ltd", "Litware 100%"]),
        ("name eq 'CONTOSO LTD'", ["Contoso Ltd"]),
        ("name eq 'Fabrikam O''Neil'", ["Fabrikam O'Neil"]),
        ("contains(name,'ware')", ["Litware 100%"]),
        ("startswith(name,'c') or endswith(name,'NEIL')", ["Contoso Ltd", "Fabrikam O'Neil"]),
        ("contains(accountnumber,'_')", ["Contoso Ltd", "Fabrikam O'Neil"]),  # '_' is a LIKE wildcard
        ("creditlimit gt 1000.5", []),
        ("creditlimit ge 1000.50", ["Contoso Ltd"]),
        ("creditlimit eq null", ["Fabrikam O'Neil"]),
        ("creditlimit ne null and statecode eq 0", ["Contoso Ltd", "Litware 100%"]),
        ("not (creditlimit gt 100)", ["Litware 100%"]),
        ("statecode eq '1'", ["Fabrikam O'Neil"]),
        ("creditonhold eq true", ["Fabrikam O'Neil"]),
        ("creditonhold", ["Fabrikam O'Neil"]),
        (f"_parentaccountid_value eq {CONTOSO.upper()}", ["Fabrikam O'Neil"]),
        (f"_parentaccountid_value eq '{FABRIKAM}'", ["Litware 100%"]),
        ("createdon ge 2024-03-01T00:00:00Z", ["Contoso Ltd"]),
        ("createdon lt 2024-03-01", ["Fabrikam O'Neil"]),
        ("name eq accountnumber", []),
        ("statecode in (1,2)", ["Fabrikam O'Neil"]),
        ("(statecode eq 0 and customertypecode eq 3) or creditonhold eq true", ["Contoso Ltd", "Fabrikam O'Neil"]),
    ],
)
def test_plain_odata_filters(conn, text, expected):
    assert names(conn, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'Microsoft.Dynamics.CRM.In(PropertyName=\'customertypecode\',PropertyValues=["3","8"])',
            ["Contoso Ltd", "Fabrikam O'Neil"],
        ),
        ("Microsoft.Dynamics.CRM.NotIn(PropertyName='customertypecode',PropertyValues=['3'])", ["Fabrikam O'Neil"]),
        ("Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=[\"fabrikam o'neil\"])", ["Fabrikam O'Neil"]),
        ('Microsoft.Dynamics.CRM.Between(PropertyName=\'creditlimit\',PropertyValues=["10","100"])', ["Litware 100%"]),
        ("Microsoft.Dynamics.CRM.NotBetween(PropertyName='creditlimit',PropertyValues=[10,100])", ["Contoso Ltd"]),
        ("Microsoft.Dynamics.CRM.Today(PropertyName='createdon')", ["Contoso Ltd"]),
        (
            "Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon',PropertyValue=50)",
            ["Contoso Ltd", "Fabrikam O'Neil"],
        ),
        ("Microsoft.Dynamics.CRM.OlderThanXDays(PropertyName='createdon',PropertyValue=30)", ["Fabrikam O'Neil"]),
        ("Microsoft.Dynamics.CRM.On(PropertyName='createdon',PropertyValue='2024-02-01')", ["Fabrikam O'Neil"]),
        ("Microsoft.Dynamics.CRM.LastMonth(PropertyName='createdon')", ["Fabrikam O'Neil"]),
        ("Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')", ["Contoso Ltd"]),
        ("Microsoft.Dynamics.CRM.NotEqualUserId(PropertyName='ownerid')", []),
    ],
)
def test_dataverse_query_functions(conn, text, expected):
    assert names(conn, text) == expected


def test_parameter_aliases_from_the_query_string(conn):
    query = {"$filter": "x", "@p1": "'customertypecode'", "@p2": '["3","8"]', "@name": "'contoso ltd'"}
    aliases = alias_values(query)
    assert aliases == {"@p1": "'customertypecode'", "@p2": '["3","8"]', "@name": "'contoso ltd'"}
    text = "Microsoft.Dynamics.CRM.In(PropertyName=@p1,PropertyValues=@p2) and name ne @name"
    assert names(conn, text, aliases=aliases) == ["Fabrikam O'Neil"]


def test_prepass_leaves_string_contents_alone():
    assert prepare("name eq '@p1 [x]'", {"@p1": "'boom'"}) == "name eq '@p1 [x]'"
    assert prepare('f(PropertyValues=["a\'b"])') == "f(PropertyValues=('a''b',))"
    assert prepare("f(PropertyValues=[1, 2])") == "f(PropertyValues=(1,2))"


def test_navigation_paths_read_related_rows(conn):
    assert names(conn, "parentaccountid/name eq 'contoso ltd'") == ["Fabrikam O'Neil"]
    assert names(conn, "parentaccountid/parentaccountid/accountnumber eq 'C-1'") == ["Litware 100%"]
    assert names(conn, "primarycontactid/fullname eq 'Jo Smith'") == ["Contoso Ltd"]
    # A polymorphic lookup is followed through the navigation property of one target only.
    assert names(conn, "parentcustomerid_account/name eq 'Contoso Ltd'", "contact") == ["Jo Smith"]
    assert names(conn, "parentcustomerid_contact/fullname eq 'Jo Smith'", "contact") == ["Li Wei"]
    assert names(conn, f"_parentcustomerid_value eq {JO}", "contact") == ["Li Wei"]
    # The integration's contact filter: contacts whose parent customer is an account.
    assert names(conn, "parentcustomerid_account/accountid ne null", "contact") == ["Jo Smith"]
    assert names(conn, "parentcustomerid_account/accountid eq null", "contact") == ["Li Wei"]


@pytest.mark.parametrize(
    ("text", "entity", "expected"),
    [
        ("contact_customer_accounts/any(c: c/fullname eq 'jo smith')", "account", ["Contoso Ltd"]),
        ("contact_customer_accounts/any()", "account", ["Contoso Ltd"]),
        ("not contact_customer_accounts/any()", "account", ["Fabrikam O'Neil", "Litware 100%"]),
        (
            "contact_customer_accounts/all(c: startswith(c/fullname,'J'))",
            "account",
            ["Contoso Ltd", "Fabrikam O'Neil", "Litware 100%"],
        ),
        (
            "contact_customer_accounts/all(c: startswith(c/fullname,'L'))",
            "account",
            ["Fabrikam O'Neil", "Litware 100%"],
        ),
        ("contact_customer_contacts/any(c: c/fullname eq 'Li Wei')", "contact", ["Jo Smith"]),
        (
            "contact_customer_accounts/any(c: c/parentcustomerid_account/accountnumber eq 'c-1')",
            "account",
            ["Contoso Ltd"],
        ),
    ],
)
def test_lambda_operators_on_collection_navigation(conn, text, entity, expected):
    assert names(conn, text, entity) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("nosuchcolumn eq 1", "Could not find a property named 'nosuchcolumn'"),
        ("Name eq 'x'", "Could not find a property named 'Name'"),
        ("parentaccountid eq null", "navigation property"),
        ("name eq", "Syntax error"),
        ("name eq 'open", "Unterminated string"),
        ("name eq 1", "not a text value"),
        ("statecode eq 'active'", "not a valid number"),
        ("createdon gt 2024-02-30", "not a valid date"),
        ("tolower(name) eq 'x'", "not supported"),
        ("statecode add 1 eq 2", "Arithmetic"),
        ("Microsoft.Dynamics.CRM.Under(PropertyName='accountid',PropertyValue='x')", "not supported"),
        ("Microsoft.Dynamics.CRM.In(PropertyName=@missing,PropertyValues=[1])", "@missing"),
        ("Microsoft.Dynamics.CRM.In(PropertyName='statecode')", "PropertyValues"),
        ("Microsoft.Dynamics.CRM.Today(PropertyName='name')", "date and time"),
        ("Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon',PropertyValue=-1)", "whole number"),
        ("statecode lt null", "null can only"),
        ("nosuch/any(c: c/name eq 'x')", "not a collection-valued navigation property"),
        ("contact_customer_accounts/all()", "Syntax error"),
        ("contact_customer_accounts/any(c: c eq 'x')", "must be followed by a property"),
        ("1 eq 1", "property"),
        ("name", "condition"),
        ("", "empty"),
    ],
)
def test_invalid_filters_are_400_with_a_message(conn, text, fragment):
    with pytest.raises(DataverseError) as caught:
        names(conn, text)
    assert caught.value.status == 400
    assert fragment in caught.value.message
