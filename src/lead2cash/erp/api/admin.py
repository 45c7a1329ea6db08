"""Setup records (general, sales & receivables) and ERP users, including "Change web service key"."""

from fastapi import APIRouter, Depends, Header, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from lead2cash.erp.api import schemas as s
from lead2cash.erp.api.auth import ADMINS, ALL_ROLES, current_user, db_session, require
from lead2cash.erp.api.crud import ERROR_RESPONSES, add_resource, etag, parse_if_match
from lead2cash.erp.errors import Forbidden
from lead2cash.erp.model import ErpUser
from lead2cash.erp.services import records, setup
from lead2cash.erp.services.records import RecordType
from lead2cash.erp.services.users import change_web_service_key


class WebServiceKey(BaseModel):
    user_name: str
    web_service_key: str


def router() -> APIRouter:
    api = APIRouter()
    _singleton(api, "general-setup", setup.general_setup, s.GeneralSetupIn, "General setup")
    _singleton(api, "sales-setup", setup.sales_setup, s.SalesSetupIn, "Sales & receivables setup")
    add_resource(
        api,
        "users",
        RecordType(ErpUser, filters=("role", "enabled")),
        s.ErpUserIn,
        read_roles=ADMINS,
        write_roles=ADMINS,
    )

    @api.post(
        "/users/{ref}/change-web-service-key",
        response_model=WebServiceKey,
        tags=["User"],
        responses=ERROR_RESPONSES,
        operation_id="change_web_service_key",
        summary="Generate a new web service access key (shown once; the old one stops working)",
    )
    def change_key(ref: str, session: Session = Depends(db_session), caller: ErpUser = Depends(current_user)):
        user = records.get(session, ErpUser, ref, for_update=True)
        if caller.role.value != "administrator" and caller.id != user.id:
            raise Forbidden(
                f"User {caller.user_name} may only change their own web service key.",
                fix="Ask an administrator to change the other user's key.",
            )
        key = change_web_service_key(user)
        return WebServiceKey(user_name=user.user_name, web_service_key=key)

    @api.get("/me", tags=["User"], responses=ERROR_RESPONSES, operation_id="whoami")
    def whoami(user: ErpUser = Depends(current_user)):
        return {"user_name": user.user_name, "full_name": user.full_name, "role": user.role.value}

    return api


def _singleton(api: APIRouter, path: str, getter, schema: type[s.In], label: str) -> None:
    patch_model, out_model = s.derive(schema, schema.__name__.removesuffix("In"))

    @api.get(
        f"/{path}",
        response_model=out_model,
        tags=[label],
        responses=ERROR_RESPONSES,
        operation_id=f"get_{path}",
    )
    def read(response: Response, session: Session = Depends(db_session), _=Depends(require(ALL_ROLES))):
        record = getter(session)
        response.headers["ETag"] = etag(record.row_version)
        return record

    @api.patch(
        f"/{path}",
        response_model=out_model,
        tags=[label],
        responses=ERROR_RESPONSES,
        operation_id=f"update_{path}",
    )
    def update(
        body: patch_model,
        response: Response,
        if_match: str | None = Header(None),
        session: Session = Depends(db_session),
        _=Depends(require(ADMINS)),
    ):
        record = getter(session)
        changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
        record = records.update(session, record, changes, if_version=parse_if_match(if_match))
        response.headers["ETag"] = etag(record.row_version)
        return record
