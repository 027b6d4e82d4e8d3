"""Demo data for the local runtime: four locations in three countries, twenty SKUs with stock, and a
demo Shopify and WooCommerce channel (their webhook secrets: local/emulator.py DEMO_CHANNEL_SECRETS).

Loaded through the same use cases the API calls, so it emits the same StockChanged events.
"""

from __future__ import annotations

from decimal import Decimal

from shared.domain.channels import SECRET_PREFIX, Channel, ChannelKind, ChannelSettings
from shared.domain.locations import LocationRequest, LocationType
from shared.domain.orders import Address
from shared.domain.stock import SetStockRequest
from shared.repositories import repositories
from shared.services.clock import utc_now
from shared.services.inventory import put_location, set_stock

EU = ["AT", "BE", "CH", "DE", "DK", "ES", "FR", "IT", "LU", "NL", "PL", "PT", "SE"]

LOCATIONS = {
    "WH-DE-BER": LocationRequest(name="Berlin warehouse", type=LocationType.WAREHOUSE, country="DE", lat=52.52,
                                 lon=13.405, ships_to=EU, priority=1, handling_cost=Decimal("2.50"),
                                 daily_order_capacity=5000,
                                 address=Address(name="Demo Shop Berlin", line1="Lagerstraße 1", city="Berlin",
                                                 postal_code="10115", country="DE")),
    "WH-ES-MAD": LocationRequest(name="Madrid 3PL", type=LocationType.THIRD_PARTY, country="ES", lat=40.4168,
                                 lon=-3.7038, ships_to=["ES", "PT", "FR"], priority=2, handling_cost=Decimal("3.10"),
                                 address=Address(name="Demo Shop 3PL Madrid", line1="Calle del Almacén 7",
                                                 city="Madrid", postal_code="28001", country="ES")),
    "STORE-FR-PAR": LocationRequest(name="Paris Rivoli store", type=LocationType.STORE, country="FR", lat=48.8606,
                                    lon=2.3376, ships_to=["FR"], pickup_enabled=True, priority=5,
                                    handling_cost=Decimal("4.00"), daily_order_capacity=200,
                                    address=Address(name="Demo Shop Rivoli", line1="99 rue de Rivoli", city="Paris",
                                                    postal_code="75001", country="FR")),
    "WH-US-NJ": LocationRequest(name="New Jersey warehouse", type=LocationType.WAREHOUSE, country="US", lat=40.0583,
                                lon=-74.4057, ships_to=["US", "CA"], priority=1, handling_cost=Decimal("2.00"),
                                address=Address(name="Demo Shop NJ", line1="1 Warehouse Way", city="Edison",
                                                postal_code="08817", region="NJ", country="US")),
}

PRODUCTS = [f"{kind}-{colour}-{size}" for kind in ("TEE", "HOODIE") for colour in ("BLK", "WHT")
            for size in ("S", "M", "L", "XL", "XXL")]


# Their API keys are demo keys (local/runtime.py demo_keys): fixed values the README can list.
DEMO_CHANNELS = {
    "shopify-demo": ChannelSettings(kind=ChannelKind.SHOPIFY, name="Demo Shopify shop", allow_cod=True,
                                    secret_ref=f"{SECRET_PREFIX}shopify-demo", stock_feed=True, stock_buffer=2,
                                    shop_domain="oms-demo.myshopify.com",
                                    sku_mapping={"variant:44556677": "TEE-WHT-M"}),
    "woo-demo": ChannelSettings(kind=ChannelKind.WOOCOMMERCE, name="Demo WooCommerce shop", allow_cod=True,
                                secret_ref=f"{SECRET_PREFIX}woo-demo"),
}


def demo_channel_key_id(channel_id: str) -> str:
    return f"local-key-{channel_id}"


def load_demo_data() -> None:
    repos, now = repositories(), utc_now()
    for channel_id, channel_settings in DEMO_CHANNELS.items():
        channel = Channel(channel_id=channel_id, settings=channel_settings, api_key_id=demo_channel_key_id(channel_id),
                          created_at=now, updated_at=now, updated_by="demo")
        repos.commit(repos.channels.save(channel, None))
    for location_id, location in LOCATIONS.items():
        put_location(location_id, location, "demo", repos, now)
    for n, sku in enumerate(PRODUCTS):
        for i, location_id in enumerate(LOCATIONS):
            on_hand = (n * 7 + i * 13) % 40  # varied, some zero, deterministic
            if on_hand:
                set_stock(sku, location_id, SetStockRequest(on_hand=on_hand, safety_stock=1 if i == 0 else 0,
                                                            low_stock_threshold=3), repos, now, cause="demo")
