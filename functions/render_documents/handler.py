"""DocumentIssued events from the documents queue -> each invoice or credit note rendered as a PDF and
stored at its own key in the documents bucket (a redelivery writes the same bytes to the same key).
The batch's documents are read in one request first; failed records return to the queue (partial batch). The PDF holds the buyer's name and address: only
ids and the number are logged."""

from __future__ import annotations

import warnings

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, Json

from shared.adapters.documents import invoice_documents
from shared.batch import batch_saving, sqs_processor
from shared.domain.invoices import DocumentKind, InvoiceDocument
from shared.observability import count, logger, metrics, traced
from shared.repositories import repositories
from shared.services.invoice_pdfs import DocumentKey, pdf_key, read_documents, render_and_store

# fpdf2 and fontTools load while the container initialises (Lambda's init runs at full CPU), not in
# the first record. "Pillow could not be imported" is expected: the documents layer has no Pillow.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import fpdf  # noqa: F401


class Issued(BaseModel):
    order_id: str
    kind: DocumentKind
    covers: str
    number: str


class IssuedEvent(BaseModel):
    detail: Issued


class DocumentRecord(SqsRecordModel):
    body: Json[IssuedEvent]


processor = sqs_processor(DocumentRecord)


def read_first(records: list[dict]) -> dict[DocumentKey, InvoiceDocument]:
    """The batch's documents in one read."""
    def wanted(raw: dict) -> DocumentKey:
        issued = DocumentRecord.model_validate(raw).body.detail
        return issued.order_id, issued.kind, issued.covers

    return batch_saving(records, wanted, lambda keys: read_documents(keys, repositories()), {}, "document read-ahead")


def render(record: DocumentRecord, read: dict[DocumentKey, InvoiceDocument]) -> None:
    issued = record.body.detail
    doc = render_and_store(issued.order_id, issued.kind, issued.covers, repositories(), invoice_documents(),
                           read.get((issued.order_id, issued.kind, issued.covers)))
    count("DocumentsRendered")
    logger.info("document rendered", extra={"order_id": doc.order_id, "kind": doc.kind.value, "number": doc.number,
                                            "key": pdf_key(doc)})


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    read = read_first(event.get("Records", []))
    return process_partial_response(event=event, record_handler=lambda record: render(record, read),
                                    processor=processor, context=context)
