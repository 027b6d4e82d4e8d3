"""An order's invoices and credit notes, for its channel and the operator, with links to their PDFs."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from shared.adapters.documents import invoice_documents
from shared.http import invoice_views as views
from shared.http import params
from shared.http.api import API_KEY_SCHEME, api_handler, install, principal
from shared.http.openapi import ORDERS, described
from shared.repositories import repositories
from shared.services.invoice_pdfs import documents_with_links

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="OMS API", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}])
install(app)


@app.get("/orders/<order_id>/invoices", summary="An order's invoices and credit notes, with links to their PDFs",
         description=views.InvoiceList.__doc__, **described(ORDERS, 200, 403, 404, 422))
def invoices(order_id: params.OrderIdPath) -> views.InvoiceList:
    linked = documents_with_links(order_id, principal(app), repositories(), invoice_documents())
    return views.InvoiceList(order_id=order_id, invoices=[views.InvoiceView.of(d.document, d.pdf_url) for d in linked])


lambda_handler = api_handler(app)
