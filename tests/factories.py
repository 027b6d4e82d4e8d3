"""Builders for test data: valid by default, overridden per test."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.domain.locations import LocationRequest, LocationType
from shared.domain.orders import OrderRequest

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def order_body(lines: list[tuple[str, int]] | None = None, *, channel_order_id: str = "CO-1",
               country: str = "DE", lat: float | None = 52.5, lon: float | None = 13.4,
               payment_status: str = "paid", price: str = "10.00", **overrides: Any) -> dict:
    lines = lines or [("SKU-1", 1)]
    total = sum(Decimal(price) * q for _, q in lines)
    address = {"line1": "Hauptstr. 1", "city": "Berlin", "country": country}
    if lat is not None:
        address.update(lat=lat, lon=lon)
    body = {
        "channel_order_id": channel_order_id,
        "customer": {"id": "cust-1", "email": "ana@example.com", "name": "Ana Test", "language": "de"},
        "shipping_address": address,
        "lines": [{"sku": sku, "quantity": q, "unit_price": price} for sku, q in lines],
        "currency": "EUR",
        "payment": {"status": payment_status, "amount": str(total)},
    }
    body.update(overrides)
    return body


def order_request(*args, **kwargs) -> OrderRequest:
    return OrderRequest.model_validate(order_body(*args, **kwargs))


def location_request(country: str = "DE", *, ships_to: list[str] | None = None, lat: float = 52.52,
                     lon: float = 13.40, **overrides: Any) -> LocationRequest:
    fields: dict[str, Any] = dict(name=f"loc in {country}", type=LocationType.WAREHOUSE, country=country,
                                  lat=lat, lon=lon, ships_to=ships_to or [country])
    fields.update(overrides)
    return LocationRequest(**fields)


def seed(repos, locations: dict[str, LocationRequest], stock: dict[tuple[str, str], int]) -> None:
    """Locations and stock through the same use cases the API calls."""
    from shared.domain.stock import SetStockRequest
    from shared.services.inventory import put_location, set_stock

    for location_id, location in locations.items():
        put_location(location_id, location, "operator", repos, NOW)
    for (sku, location_id), on_hand in stock.items():
        set_stock(sku, location_id, SetStockRequest(on_hand=on_hand), repos, NOW)


TWO_WAREHOUSES = {
    "BER": location_request("DE", ships_to=["DE", "FR"], lat=52.52, lon=13.40, priority=1),
    "MAD": location_request("ES", ships_to=["ES", "FR", "DE"], lat=40.42, lon=-3.70, priority=2),
}


# --- for allocation tests, on either store ------------------------------------------------------------

def capture(repos, *lines, channel="web", **kw):
    """Capture an order of `lines` at NOW (channel order id `coid`, default CO-1)."""
    from shared.services.capture import capture_order

    return capture_order(order_request(list(lines), channel_order_id=kw.pop("coid", "CO-1"), **kw), channel, repos,
                         NOW).order


def level(repos, sku, loc):
    return repos.stock.level(sku, loc)


def reservations(repos, sku) -> dict[tuple[str, str], int]:
    """(location, order) -> units of the SKU's reservation records, read raw: what drift repair recounts."""
    from shared.adapters.expressions import KeyQuery, SortRange

    items = repos.store.query_all(KeyQuery(f"STOCK#{sku}", SortRange.prefix("RES#")), consistent=True)
    return {(i["location_id"], i["order_id"]): int(i["quantity"]) for i in items}
