"""The identifier shapes every area shares (SKUs, locations, external and order ids) and the line
limit, apart from the order aggregate: stock, locations, channels, purchasing and the HTTP
parameters name them without importing `shared.domain.orders` and its models (cold start,
docs/performance.md). `shared.domain.orders` re-exports them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"
ORDER_ID_PATTERN = r"^o[0-9a-f]{24}$"
Sku = Annotated[str, Field(pattern=ID_PATTERN, examples=["TSHIRT-BLK-M"])]
LocationId = Annotated[str, Field(pattern=ID_PATTERN, examples=["WH-DE-1"])]
ExternalId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]

MAX_LINES = 25
