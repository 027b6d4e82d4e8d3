"""Path and query parameters the HTTP API's routes share: their patterns and bounds in one place.

Apart from the views (shared/http/*views.py) so a function that needs only an id's pattern does not
build response models it never answers with."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from shared.domain.identifiers import ID_PATTERN, ORDER_ID_PATTERN

SkuPath = Annotated[str, Path(pattern=ID_PATTERN)]
PageLimit = Annotated[int, Query(ge=1, le=200)]
PageCursor = Annotated[str | None, Query(max_length=2048)]
ChannelOrderIdQuery = Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$", description=(
    "The channel's own order id (an operator names the channel too): at most one order"))]
CustomerIdQuery = Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$", description=(
    "customer.id of the order request: the channel's own customer id (an operator names the channel too)"))]
LocationPath = Annotated[str, Path(pattern=ID_PATTERN)]
OrderIdPath = Annotated[str, Path(pattern=ORDER_ID_PATTERN)]
