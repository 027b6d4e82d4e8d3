"""Configuration of every function, read from the environment once, lazily.

The one place that names the environment variables and their defaults: infra/wiring.py reads
`ENV` and `DEFAULTS` from here to set them (CDK stack and local runtime alike).

Plain dataclasses rather than a pydantic model: the event relay reads its settings too, and should
not pay pydantic's import for two strings.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from typing import Final


class Environment:
    """Names the functions read from their environment. Constants (`Final`) rather than a frozen
    dataclass: every function imports this module, and defining a dataclass of this many fields
    costs each cold start a millisecond or two (docs/performance.md)."""

    table: Final = "OMS_TABLE_NAME"
    bus: Final = "OMS_EVENT_BUS_NAME"
    principals: Final = "OMS_API_PRINCIPALS"
    # The REST API and stage channel keys are issued on (channels-api).
    api_id: Final = "OMS_API_ID"
    api_stage: Final = "OMS_API_STAGE"
    label_bucket: Final = "OMS_LABEL_BUCKET"
    # Invoice and credit note PDFs (kept for the legal retention period: no expiry).
    documents_bucket: Final = "OMS_DOCUMENTS_BUCKET"
    carrier_secret: Final = "OMS_CARRIER_SECRET"
    # Which adapter buys labels: sandbox (default) or easypost (its API key in the carrier secret).
    label_carrier: Final = "OMS_LABEL_CARRIER"
    email_sender: Final = "OMS_EMAIL_SENDER"
    # Local runtime only: write customer messages as files here instead of sending them via SES.
    local_outbox: Final = "OMS_LOCAL_OUTBOX"
    # SMS (AWS End User Messaging SMS), both optional: the phone number, sender ID, pool (id or ARN)
    # texts are sent from, and the configuration set whose event destinations record deliveries.
    sms_origination_identity: Final = "OMS_SMS_ORIGINATION_IDENTITY"
    sms_configuration_set: Final = "OMS_SMS_CONFIGURATION_SET"
    # Which provider moves the money of an order that names an intent but no provider: sandbox or stripe.
    payment_provider: Final = "OMS_PAYMENT_PROVIDER"
    # The Secrets Manager secret with stripe_secret_key and stripe_webhook_secret.
    payment_secret: Final = "OMS_PAYMENT_SECRET"
    # Failed payment attempts after which an order awaiting payment is cancelled.
    payment_max_failures: Final = "OMS_PAYMENT_MAX_FAILURES"
    # The selling entity printed on invoices (JSON: entity_id, name, address, vat_id).
    seller: Final = "OMS_SELLER"
    # Tax rates by destination country and date, and each channel's price basis (shared/domain/tax.py).
    tax_rates: Final = "OMS_TAX_RATES"
    # The currency reports convert amounts into (ISO 4217; cdk.json `oms:baseCurrency`).
    base_currency: Final = "OMS_BASE_CURRENCY"
    # The operator user pool people sign in with (shared/http/tokens.py): its issuer URL, the app
    # client ids its tokens may be issued to (comma-separated), and where its signing keys are
    # (default: the issuer's /.well-known/jwks.json; locally the emulator's).
    user_pool_issuer: Final = "OMS_USER_POOL_ISSUER"
    user_pool_client_ids: Final = "OMS_USER_POOL_CLIENT_IDS"
    user_pool_jwks_url: Final = "OMS_USER_POOL_JWKS_URL"
    # The roles each of the function's routes admits besides admin (JSON {"GET /orders": ["viewer", ...]}),
    # from the wiring's route declarations (infra/wiring.py route_roles).
    route_roles: Final = "OMS_ROUTE_ROLES"


ENV = Environment()


def queue_url_env(queue_name: str) -> str:
    """The variable holding a queue's URL, for functions that send to it (wiring `sends_to`)."""
    return f"OMS_QUEUE_{queue_name.upper().replace('-', '_')}_URL"


class Defaults:
    """The defaults of the settings below; constants, as `Environment`."""

    table_name: Final = "oms"
    bus_name: Final = "oms-events"
    label_bucket: Final = "oms-labels"
    documents_bucket: Final = "oms-documents"
    carrier_secret: Final = "oms/carriers"
    label_carrier: Final = "sandbox"
    email_sender: Final = "orders@example.com"
    payment_provider: Final = "sandbox"
    payment_secret: Final = "oms/payments"
    payment_max_failures: Final = 3
    base_currency: Final = "USD"
    # Demo values for the local runtime: a merchant sets both (cdk.json `oms:environment`).
    seller: Final = ('{"entity_id": "DEMO", "name": "OMS Demo Shop GmbH", "vat_id": "DE000000000", "address": '
                   '{"line1": "Demostrasse 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}}')
    tax_rates: Final = ('{"default": "0.19", "rates": ['
                      '{"country": "FR", "rate": "0.20", "valid_from": "2014-01-01"}, '
                      '{"country": "NL", "rate": "0.21", "valid_from": "2012-10-01"}, '
                      '{"country": "AT", "rate": "0.20", "valid_from": "2016-01-01"}, '
                      '{"country": "GB", "rate": "0.20", "valid_from": "2011-01-04"}, '
                      '{"country": "US", "rate": "0", "valid_from": "2000-01-01"}]}')


DEFAULTS = Defaults()


@dataclass(frozen=True)
class ChannelPolicy:
    """What routing needs of a channel (its settings: shared/domain/channels.py, read through the
    channels repository)."""

    allow_split: bool = True
    allow_partial: bool = False
    # Cash on delivery: an order paying so through a channel that does not allow it is held
    # (PAYMENT_METHOD_NOT_ALLOWED).
    allow_cod: bool = False


@dataclass(frozen=True)
class Settings:
    table_name: str = DEFAULTS.table_name
    event_bus_name: str = DEFAULTS.bus_name
    # API Gateway key id -> channel name, or "operator". Set by the stack from the keys it creates.
    principals: dict[str, str] = field(default_factory=dict)
    max_body_bytes: int = 262_144
    label_bucket: str = DEFAULTS.label_bucket
    documents_bucket: str = DEFAULTS.documents_bucket
    carrier_secret: str = DEFAULTS.carrier_secret
    label_carrier: str = DEFAULTS.label_carrier
    email_sender: str = DEFAULTS.email_sender
    local_outbox: str | None = None
    sms_origination_identity: str | None = None
    sms_configuration_set: str | None = None
    # Queue name -> URL, for the queues a function sends to directly (wiring `sends_to`).
    queue_urls: dict[str, str] = field(default_factory=dict)
    payment_provider: str = DEFAULTS.payment_provider
    payment_secret: str = DEFAULTS.payment_secret
    payment_max_failures: int = DEFAULTS.payment_max_failures
    seller: str = DEFAULTS.seller
    tax_rates: str = DEFAULTS.tax_rates
    base_currency: str = DEFAULTS.base_currency
    api_id: str = ""
    api_stage: str = ""
    user_pool_issuer: str = ""
    user_pool_client_ids: frozenset[str] = frozenset()
    user_pool_jwks_url: str = ""
    route_roles: dict[str, list[str]] = field(default_factory=dict)


@cache
def settings() -> Settings:
    env = os.environ
    return Settings(
        table_name=env.get(ENV.table, DEFAULTS.table_name),
        event_bus_name=env.get(ENV.bus, DEFAULTS.bus_name),
        principals=json.loads(env.get(ENV.principals) or "{}"),
        label_bucket=env.get(ENV.label_bucket, DEFAULTS.label_bucket),
        documents_bucket=env.get(ENV.documents_bucket, DEFAULTS.documents_bucket),
        carrier_secret=env.get(ENV.carrier_secret, DEFAULTS.carrier_secret),
        label_carrier=env.get(ENV.label_carrier, DEFAULTS.label_carrier),
        email_sender=env.get(ENV.email_sender, DEFAULTS.email_sender),
        local_outbox=env.get(ENV.local_outbox) or None,
        sms_origination_identity=env.get(ENV.sms_origination_identity) or None,
        sms_configuration_set=env.get(ENV.sms_configuration_set) or None,
        payment_provider=env.get(ENV.payment_provider, DEFAULTS.payment_provider),
        payment_secret=env.get(ENV.payment_secret, DEFAULTS.payment_secret),
        payment_max_failures=int(env.get(ENV.payment_max_failures) or DEFAULTS.payment_max_failures),
        seller=env.get(ENV.seller) or DEFAULTS.seller,
        tax_rates=env.get(ENV.tax_rates) or DEFAULTS.tax_rates,
        base_currency=env.get(ENV.base_currency) or DEFAULTS.base_currency,
        api_id=env.get(ENV.api_id, ""),
        api_stage=env.get(ENV.api_stage, ""),
        user_pool_issuer=env.get(ENV.user_pool_issuer, ""),
        user_pool_client_ids=frozenset(c for c in env.get(ENV.user_pool_client_ids, "").split(",") if c),
        user_pool_jwks_url=env.get(ENV.user_pool_jwks_url)
        or (env[ENV.user_pool_issuer] + "/.well-known/jwks.json" if env.get(ENV.user_pool_issuer) else ""),
        route_roles=json.loads(env.get(ENV.route_roles) or "{}"),
        # OMS_QUEUE_<NAME>_URL, as queue_url_env names them (AWS names the queues).
        queue_urls={key[len("OMS_QUEUE_"):-len("_URL")].lower().replace("_", "-"): url for key, url in env.items()
                    if key.startswith("OMS_QUEUE_") and key.endswith("_URL") and url},
    )
