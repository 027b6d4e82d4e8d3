"""Buying a shipping label for a shipment, keeping the document, and handing out a link to it.

The adapter is chosen by OMS_LABEL_CARRIER: `sandbox` (the default, and what the local runtime
uses) or `easypost` (its API key from the carrier secret). Documents we hold go to the label bucket
under labels/<shipment id>.<pdf|zpl>, private; callers get a presigned link valid for 15 minutes.
"""

from __future__ import annotations

from functools import cache

from shared.adapters.documents import Documents, label_documents
from shared.carriers.adapter import CarrierAdapter, CarrierError, Label, LabelRequest
from shared.config import settings
from shared.domain.shipments import Shipment, StoredLabel
from shared.errors import InvalidInput, Unavailable

LINK_TTL_S = 900
CONTENT_TYPES = {"PDF": "application/pdf", "ZPL": "application/x-zpl"}


@cache
def label_adapter() -> CarrierAdapter:
    """One per container: the sandbox keeps its tracking-number sequence, EasyPost its connection pool."""
    chosen = settings().label_carrier
    if chosen == "easypost":
        from shared.carriers.credentials import api_key
        from shared.carriers.easypost import EasyPostAdapter

        return EasyPostAdapter(api_key("easypost"))
    if chosen == "sandbox":
        from shared.carriers.sandbox import SandboxCarrier
        from shared.services.clock import utc_now

        return SandboxCarrier(clock=utc_now)
    raise Unavailable(f"OMS_LABEL_CARRIER {chosen!r} is not a carrier we can buy labels from")


def buy_label(request: LabelRequest, adapter: CarrierAdapter | None = None,
              documents: Documents | None = None) -> tuple[Label, StoredLabel]:
    """Buy the label (the adapter answers a repeated reference with the same label) and keep it."""
    adapter = adapter or label_adapter()
    documents = documents or label_documents()
    try:
        label = adapter.buy_label(request)
    except CarrierError as error:
        if error.retryable:
            raise Unavailable(f"the carrier did not answer: {error.message}; retry") from None
        raise InvalidInput(f"the carrier refused the label: {error.message}", field="parcel") from None
    key = None
    document = label.label_bytes
    if document is None and label.label_url:
        # EasyPost hosts the label for a limited time: keep our own copy for reprints, returns and
        # claims. If the download fails the label stays usable through the provider's link.
        document = fetch_document(label.label_url)
    if document is not None:
        key = f"labels/{request.reference}.{label.label_format.lower()}"
        documents.put(key, document, CONTENT_TYPES[label.label_format])
    return label, StoredLabel(provider=label.provider, key=key, provider_url=label.label_url,
                              label_format=label.label_format, rate=label.rate_amount, currency=label.rate_currency,
                              provider_shipment_id=label.provider_shipment_id)


def fetch_document(url: str, timeout_s: float = 10.0) -> bytes | None:
    """The label document at the provider's https URL, or None (logged) when it cannot be had."""
    import urllib3

    from shared.observability import logger

    if not url.startswith("https://"):
        logger.warning("label URL is not https; not fetched", extra={"url_scheme": url.split(":", 1)[0]})
        return None
    try:
        response = urllib3.request("GET", url, timeout=timeout_s, retries=urllib3.Retry(2, backoff_factor=0.5))
    except urllib3.exceptions.HTTPError as error:
        logger.warning("label document not fetched", extra={"error": type(error).__name__})
        return None
    if response.status != 200 or not response.data:
        logger.warning("label document not fetched", extra={"status": response.status})
        return None
    return response.data


def label_link(shipment: Shipment, documents: Documents | None = None) -> str | None:
    """A short-lived link to the label document, or the provider's own URL."""
    if shipment.label is None:
        return None
    if shipment.label.key is None:
        return shipment.label.provider_url
    return (documents or label_documents()).link(shipment.label.key, LINK_TTL_S)
