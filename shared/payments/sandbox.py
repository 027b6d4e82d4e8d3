"""The built-in sandbox payment provider: what the local runtime and the tests move money with. It
calls nothing, yet keeps the PaymentProvider contract the way Stripe does (shared/payments/stripe.py):

- authorize() makes an intent with manual capture: `pi_sandbox_<24 hex>`, derived from the
  idempotency key (so a restarted process asked again gives the same id), status requires_capture.
  Its charge is `ch_sandbox_<same hex>`; a refund is `re_sandbox_<hex of its own key>`.
- capture() may be called several times, each for part of what is still authorised (multicapture
  is always available here): more than that is PaymentDeclined("amount_too_large"). A final capture
  releases the rest (succeeded; canceled if nothing was ever captured); capturing everything ends
  succeeded too.
- void() cancels an intent with nothing captured, releases the rest of a partially captured one
  (it ends succeeded, as Stripe's final capture of 0 does), and returns an intent already canceled or
  succeeded as it is.
- refund() refunds up to what was captured and not yet refunded (more: "amount_too_large").
- Idempotency as Stripe's: the same key with the same parameters answers the first result (a
  decline included) without moving anything again; the same key with anything else is
  PaymentDeclined("idempotency_key_reused"). A ProviderUnavailable is not saved (like Stripe's 429,
  which is answered before its idempotency layer), so the retry really runs.
- Calls that need the intent refuse an unknown one with "resource_missing" and one in the wrong
  state with "payment_intent_unexpected_state"; a currency other than the intent's is a caller's
  bug (ValueError), as is an amount finer than the currency's minor unit.

Test amounts, read from the amount's ISO 4217 minor units (cents for EUR, yen for JPY):
- ending in 02 (10.02 EUR, 102 JPY): authorize() is declined, PaymentDeclined("card_declined"), like
  Stripe's test card 4000 0000 0000 0002; the intent is kept, status requires_payment_method.
- ending in 03 (10.03 EUR): authorize(), capture() or refund() raises ProviderUnavailable the first
  time a given idempotency key asks, and succeeds when the same call is repeated (retry tests).

State lives in a dict: by default one per process (module level, shared by every SandboxProvider()),
or the one a test passes in. register_intent() puts an intent there as if a web shop had created it.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from shared.domain.money import ZERO, from_minor, to_minor
from shared.payments.provider import (
    IdempotencyKeyReused,
    IntentStatus,
    PaymentDeclined,
    ProviderPayment,
    ProviderRefund,
    ProviderUnavailable,
    RefundStatus,
)

DECLINE_SUFFIX = 2      # minor units ending in 02: card_declined
UNAVAILABLE_SUFFIX = 3  # minor units ending in 03: ProviderUnavailable once per idempotency key

_PROCESS_STATE: dict[str, Any] = {}
_PROCESS_LOCK = threading.RLock()


@dataclass(frozen=True)
class _Intent:
    intent_id: str
    currency: str
    amount: Decimal
    capturable: Decimal
    received: Decimal
    refunded: Decimal
    status: IntentStatus
    charge_id: str | None
    order_id: str | None = None
    failure: str | None = None

    def view(self) -> ProviderPayment:
        return ProviderPayment(intent_id=self.intent_id, status=self.status, currency=self.currency,
                               amount=self.amount, amount_capturable=self.capturable,
                               amount_received=self.received, charge_id=self.charge_id, failure=self.failure)


class SandboxProvider:
    name = "sandbox"

    def __init__(self, state: dict[str, Any] | None = None):
        if state is None:
            self._state, self._lock = _PROCESS_STATE, _PROCESS_LOCK
        else:
            self._state, self._lock = state, threading.RLock()
        self._intents: dict[str, _Intent] = self._state.setdefault("intents", {})
        self._keys: dict[str, tuple[tuple, Any]] = self._state.setdefault("keys", {})
        self._failed_once: set[str] = self._state.setdefault("failed_once", set())

    # ------------------------------------------------------------------ the contract

    def authorize(self, amount: Decimal, currency: str, payment_method: str, order_id: str,
                  idempotency_key: str) -> ProviderPayment:
        units = to_minor(amount, currency)  # ValueError: finer than the currency's minor unit
        request = ("authorize", _canon(amount, currency), currency, payment_method, order_id)
        with self._lock:
            return self._once(idempotency_key, request, units, lambda: self._authorize(
                amount, currency, order_id, idempotency_key, units))

    def capture(self, intent_id: str, amount: Decimal, currency: str, idempotency_key: str,
                final: bool) -> ProviderPayment:
        units = to_minor(amount, currency)
        request = ("capture", intent_id, _canon(amount, currency), currency, final)
        with self._lock:
            return self._once(idempotency_key, request, units, lambda: self._capture(
                intent_id, amount, currency, final))

    def void(self, intent_id: str, idempotency_key: str) -> ProviderPayment:
        with self._lock:
            return self._once(idempotency_key, ("void", intent_id), None, lambda: self._void(intent_id))

    def refund(self, intent_id: str, amount: Decimal, currency: str, idempotency_key: str,
               reason: str | None = None) -> ProviderRefund:
        units = to_minor(amount, currency)
        request = ("refund", intent_id, _canon(amount, currency), currency, reason)
        with self._lock:
            return self._once(idempotency_key, request, units, lambda: self._refund(
                intent_id, amount, currency, idempotency_key))

    def retrieve(self, intent_id: str) -> ProviderPayment:
        with self._lock:
            return self._intent(intent_id).view()

    def knows(self, intent_id: str) -> bool:
        with self._lock:
            return intent_id in self._intents

    def register_intent(self, intent_id: str, amount: Decimal, currency: str,
                        status: IntentStatus = IntentStatus.REQUIRES_CAPTURE) -> ProviderPayment:
        """Put an intent in the sandbox as if a web shop had created (and confirmed) it: authorised
        in full when it requires capture, captured in full when it succeeded, nothing otherwise."""
        to_minor(amount, currency)
        status = IntentStatus(status)
        with self._lock:
            intent = _Intent(
                intent_id=intent_id, currency=currency, amount=amount,
                capturable=amount if status == IntentStatus.REQUIRES_CAPTURE else ZERO,
                received=amount if status == IntentStatus.SUCCEEDED else ZERO, refunded=ZERO,
                status=status, charge_id=f"ch_{intent_id}" if status in _CHARGED else None)
            self._intents[intent_id] = intent
            return intent.view()

    # ------------------------------------------------------------------ idempotency

    def _once(self, key: str, request: tuple, units: int | None, run):
        """Stripe's idempotency layer: the first outcome (result or decline) saved under the key."""
        if not key:
            raise ValueError("every call that moves money needs an idempotency key")
        saved = self._keys.get(key)
        if saved is not None:
            if saved[0] != request:
                raise IdempotencyKeyReused(
                    f"idempotency_key_reused: key {key!r} was first used for another request: {saved[0][0]}")
            return _replay(saved[1])
        if units is not None and units % 100 == UNAVAILABLE_SUFFIX and key not in self._failed_once:
            self._failed_once.add(key)  # not saved as an outcome: the retry runs for real
            raise ProviderUnavailable("sandbox: simulated outage (amount ending in 03), retry with the same key")
        try:
            outcome = run()
        except PaymentDeclined as declined:
            self._keys[key] = (request, declined)
            raise
        self._keys[key] = (request, outcome)
        return outcome

    # ------------------------------------------------------------------ what each call does

    def _authorize(self, amount: Decimal, currency: str, order_id: str, key: str, units: int) -> ProviderPayment:
        digest = _digest(key)
        intent_id = f"pi_sandbox_{digest}"
        if units % 100 == DECLINE_SUFFIX:
            self._intents[intent_id] = _Intent(
                intent_id=intent_id, currency=currency, amount=amount, capturable=ZERO, received=ZERO,
                refunded=ZERO, status=IntentStatus.REQUIRES_PAYMENT_METHOD, charge_id=f"ch_sandbox_{digest}",
                order_id=order_id, failure="Your card was declined.")
            raise PaymentDeclined("card_declined", "Your card was declined. (sandbox: amount ending in 02)")
        intent = _Intent(intent_id=intent_id, currency=currency, amount=amount, capturable=amount, received=ZERO,
                         refunded=ZERO, status=IntentStatus.REQUIRES_CAPTURE, charge_id=f"ch_sandbox_{digest}",
                         order_id=order_id)
        self._intents[intent_id] = intent
        return intent.view()

    def _capture(self, intent_id: str, amount: Decimal, currency: str, final: bool) -> ProviderPayment:
        intent = self._intent(intent_id)
        self._same_currency(intent, currency)
        if intent.status != IntentStatus.REQUIRES_CAPTURE:
            raise PaymentDeclined("payment_intent_unexpected_state",
                                  f"{intent_id} is {intent.status}, not requires_capture")
        if amount > intent.capturable:
            raise PaymentDeclined("amount_too_large",
                                  f"{amount} {currency} is more than the {intent.capturable} still capturable")
        received, capturable = intent.received + amount, intent.capturable - amount
        if final or capturable == ZERO:
            status = IntentStatus.SUCCEEDED if received > ZERO else IntentStatus.CANCELED
            capturable = ZERO
        else:
            status = IntentStatus.REQUIRES_CAPTURE
        updated = replace(intent, received=received, capturable=capturable, status=status)
        self._intents[intent_id] = updated
        return updated.view()

    def _void(self, intent_id: str) -> ProviderPayment:
        intent = self._intent(intent_id)
        if intent.status in (IntentStatus.CANCELED, IntentStatus.SUCCEEDED):
            return intent.view()
        if intent.status == IntentStatus.PROCESSING:
            raise PaymentDeclined("payment_intent_unexpected_state", f"{intent_id} is processing")
        status = IntentStatus.SUCCEEDED if intent.received > ZERO else IntentStatus.CANCELED
        updated = replace(intent, capturable=ZERO, status=status)
        self._intents[intent_id] = updated
        return updated.view()

    def _refund(self, intent_id: str, amount: Decimal, currency: str, key: str) -> ProviderRefund:
        intent = self._intent(intent_id)
        self._same_currency(intent, currency)
        refundable = intent.received - intent.refunded
        if amount <= ZERO:
            raise PaymentDeclined("amount_too_small", "a refund must be for more than 0")
        if amount > refundable:
            raise PaymentDeclined("amount_too_large",
                                  f"{amount} {currency} is more than the {refundable} captured and not refunded")
        self._intents[intent_id] = replace(intent, refunded=intent.refunded + amount)
        return ProviderRefund(refund_id=f"re_sandbox_{_digest(key)}", intent_id=intent_id,
                              charge_id=intent.charge_id, currency=currency, amount=amount,
                              status=RefundStatus.SUCCEEDED)

    def _intent(self, intent_id: str) -> _Intent:
        intent = self._intents.get(intent_id)
        if intent is None:
            raise PaymentDeclined("resource_missing", f"No such payment_intent: {intent_id!r}")
        return intent

    @staticmethod
    def _same_currency(intent: _Intent, currency: str) -> None:
        if currency != intent.currency:
            raise ValueError(f"{intent.intent_id} is in {intent.currency}, not {currency}")


_CHARGED = (IntentStatus.REQUIRES_CAPTURE, IntentStatus.SUCCEEDED)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _canon(amount: Decimal, currency: str) -> str:
    """The amount as compared between two uses of a key: 10.5 and 10.50 EUR are the same request."""
    return str(from_minor(to_minor(amount, currency), currency))


def _replay(outcome: Any) -> Any:
    if isinstance(outcome, PaymentDeclined):
        raise PaymentDeclined(outcome.code, outcome.message)
    return outcome
