"""Documents we keep in S3: shipping labels (PDF, ZPL) in the label bucket, invoice and credit note
PDFs in the documents bucket. A use case takes any `Documents`; these are the functions' own."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Protocol


class Documents(Protocol):
    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def link(self, key: str, ttl_s: int) -> str:
        """A short-lived link a person can open (presigned in AWS)."""
        ...


@dataclass(frozen=True)
class S3Documents:
    bucket: str

    def put(self, key: str, body: bytes, content_type: str) -> None:
        from shared.adapters.aws import client

        client("s3").put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def link(self, key: str, ttl_s: int) -> str:
        from shared.adapters.aws import client

        return client("s3").generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                   ExpiresIn=ttl_s)


@cache
def label_documents() -> Documents:
    from shared.config import settings

    return S3Documents(settings().label_bucket)


@cache
def invoice_documents() -> Documents:
    """The documents bucket (OMS_DOCUMENTS_BUCKET): invoice and credit note PDFs."""
    from shared.config import settings

    return S3Documents(settings().documents_bucket)
