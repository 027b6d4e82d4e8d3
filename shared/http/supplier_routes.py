"""The supplier routes (operator only): create or change a supplier, list them, read one. Served by
purchasing-api (`add(app)` in its handler, before its purchase order routes), so the handler stays thin;
thin like every handler: a model in, one use case (shared/services/purchasing.py), the answer out."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from shared.domain.purchasing import Supplier, SupplierRequest
from shared.http import purchasing_views as pv
from shared.http.api import principal
from shared.http.openapi import PURCHASING, described
from shared.repositories import repositories
from shared.services import purchasing
from shared.services.clock import utc_now


def add(app: APIGatewayRestResolver) -> None:
    @app.put("/suppliers/<supplier_id>", summary="Operator: create or change a supplier",
             description=SupplierRequest.__doc__,
             **described(PURCHASING, 200, 400, 403, 413, 415, 422, 503,
                         success_description="200 changed (or unchanged), 201 created", created=Supplier))
    def put_supplier(supplier_id: pv.SupplierPath, body: SupplierRequest) -> Response[Supplier]:
        written = purchasing.put_supplier(supplier_id, body, principal(app), repositories(), utc_now())
        return pv.created_or_not(written.created, written.supplier)

    @app.get("/suppliers", summary="Operator: every supplier, by id", **described(PURCHASING, 200, 403))
    def list_suppliers() -> pv.SupplierList:
        return pv.SupplierList(suppliers=purchasing.list_suppliers(principal(app), repositories()))

    @app.get("/suppliers/<supplier_id>", summary="Operator: a supplier", **described(PURCHASING, 200, 403, 404, 422))
    def get_supplier(supplier_id: pv.SupplierPath) -> Supplier:
        return purchasing.get_supplier(supplier_id, principal(app), repositories())
