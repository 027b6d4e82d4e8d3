"""Webhook signatures computed the way each sender documents them, independently of the OMS's
verifiers (shared/carriers, shared/channels, shared/payments), so a test of a verifier checks it
against the sender's rule, not against itself. Used by the unit tests and by bench/fuzz_hooks.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from datetime import datetime


def _mac(key: bytes, message: bytes) -> hmac.HMAC:
    return hmac.new(key, message, hashlib.sha256)


def base64_hmac(body: bytes, secret: str) -> str:
    """Shopify's X-Shopify-Hmac-Sha256 and WooCommerce's X-WC-Webhook-Signature (WC_Webhook::
    generate_signature): base64 of the HMAC-SHA256 digest of the raw body, keyed with the secret."""
    return base64.b64encode(_mac(secret.encode("utf-8"), body).digest()).decode()


def stripe_v1(body: bytes, secret: str, at: datetime) -> str:
    """One Stripe v1 value: hex HMAC-SHA256, keyed with the endpoint secret, of "{timestamp}.{body}"."""
    return _mac(secret.encode("utf-8"), f"{int(at.timestamp())}.".encode() + body).hexdigest()


def carrier_headers(provider: str, body: bytes, secret: str, at: datetime) -> dict[str, str]:
    """The headers each carrier sends (easypost, aftership, shippo; anything else: our canonical scheme)."""
    if provider == "easypost":  # NFKD-normalised secret, hex, prefixed
        key = unicodedata.normalize("NFKD", secret).encode()
        return {"X-Hmac-Signature": "hmac-sha256-hex=" + _mac(key, body).hexdigest()}
    if provider == "aftership":  # base64 of the raw digest
        return {"aftership-hmac-sha256": base64.b64encode(_mac(secret.encode(), body).digest()).decode()}
    t = str(int(at.timestamp()))  # shippo and ours: hex HMAC of "{t}.{body}"
    v1 = _mac(secret.encode(), t.encode() + b"." + body).hexdigest()
    if provider == "shippo":  # echo -n "${t}.${payload}" | openssl dgst -sha256 -hmac "${secret}"
        return {"Shippo-Auth-Signature": f"t={t},v1={v1}"}
    return {"X-OMS-Timestamp": t, "X-OMS-Signature": f"v1={v1}"}
