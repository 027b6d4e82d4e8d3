"""One order's life in the soak (bench/soak.py), as its channel, the locations, the carrier and the
operator live it, each decision drawn from a generator seeded by the run's seed and the order's
number: capture (sometimes twice), holds released or rejected, cancels early and late, line
cancellations, a location rejecting its part, parcels in one or two parts, carrier webhooks
duplicated and out of order, the backordered rest cancelled when stock is slow, returns received
(restocked or written off) and refunded to the card or as store credit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.invariants import Violation
from bench.order_lifecycle import canonical_webhook
from bench.soak_clients import Api, GaveUp, Table
from local.demo import PRODUCTS
from local.emulator import DEMO_CARRIER_SECRET, DEMO_PAYMENT_SECRET

NOT_YET_TRIES = 60  # a refund asked before the capture: tries a second apart (settlement is seconds behind)

CHANNELS = ("web", "app", "marketplace", "pos")
DESTINATIONS = (("DE", "Berlin", 52.52, 13.40), ("FR", "Paris", 48.86, 2.35), ("ES", "Madrid", 40.42, -3.70))
PRICES = (Decimal("19.99"), Decimal("24.50"), Decimal("9.95"), Decimal("34.00"))
TRACKING = ("IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED")
FINAL = frozenset({"CANCELLED", "REJECTED", "DELIVERED"})
PATIENCE_S = 8.0  # how long a script waits for restocks before cancelling what is still backordered
DEADLINE_S = 240.0  # a script stops driving an order that has not got anywhere by then (the drain redrives)


@dataclass
class Plan:
    n: int
    channel: str
    lines: list[tuple[str, int, Decimal]]
    destination: tuple[str, str, float, float]
    payment: str  # paid, authorized, pending (paid later: a Stripe webhook), mismatch (held), unknown_sku (held)
    fate: str  # ship, cancel, cancel_early, cancel_lines, reject_part
    hold: str  # release or reject (a held order)
    wms: bool  # ships straight from OPEN
    two_parcels: bool
    capture_twice: bool
    webhook_chaos: bool
    returns: bool
    refund_method: str
    restock_return: bool
    probe_isolation: bool

    @classmethod
    def draw(cls, rng: random.Random, n: int) -> Plan:
        skus = rng.sample(PRODUCTS, rng.choice((1, 1, 2, 2, 3)))
        return cls(
            n=n, channel=rng.choice(CHANNELS), lines=[(s, rng.choice((1, 1, 2, 3)), rng.choice(PRICES)) for s in skus],
            destination=rng.choice(DESTINATIONS),
            payment=rng.choices(("paid", "authorized", "pending", "mismatch", "unknown_sku"), (42, 40, 8, 5, 5))[0],
            fate=rng.choices(("ship", "cancel", "cancel_early", "cancel_lines", "reject_part"), (62, 8, 5, 13, 12))[0],
            hold=rng.choice(("release", "release", "reject")), wms=rng.random() < 0.7,
            two_parcels=rng.random() < 0.35, capture_twice=rng.random() < 0.1, webhook_chaos=rng.random() < 0.4,
            returns=rng.random() < 0.2, refund_method=rng.choice(("original_payment", "store_credit")),
            restock_return=rng.random() < 0.6, probe_isolation=rng.random() < 0.1)


@dataclass
class Outcome:
    n: int
    order_id: str | None = None
    status: str | None = None
    events: list[str] = field(default_factory=list)
    problem: str | None = None
    seconds: float = 0.0


class OrderScript:
    def __init__(self, api: Api, table: Table, run_id: str, seed: int):
        self.api, self.table, self.run_id, self.seed = api, table, run_id, seed

    def run(self, n: int) -> Outcome:
        rng = random.Random(f"{self.seed}:{n}")
        plan, out = Plan.draw(rng, n), Outcome(n)
        started = time.monotonic()
        try:
            self._life(plan, rng, out)
        except GaveUp as gave_up:
            out.problem = str(gave_up)
        out.seconds = time.monotonic() - started
        if out.order_id:
            out.status = self.table.order(out.order_id)["status"]
        return out

    # ------------------------------------------------------------------ the life

    def _life(self, plan: Plan, rng: random.Random, out: Outcome) -> None:
        order_id = out.order_id = self._capture(plan, out)
        if plan.probe_isolation:
            self._probe(plan, order_id)
        if plan.fate == "cancel_early":
            return self._cancel(plan, order_id, out)
        order = self.table.wait(lambda: self.table.order(order_id), lambda o: o["status"] != "RECEIVED")
        if order["status"] == "ON_HOLD":
            order = self._held(plan, rng, order_id, out)
        if order["status"] in FINAL:
            return None
        if plan.fate == "cancel":
            return self._cancel(plan, order_id, out)
        if plan.fate == "cancel_lines":
            self._cancel_lines(plan, rng, order_id, order, out)
        self._fulfil(plan, rng, order_id, out)
        if plan.returns and self.table.order(order_id)["status"] == "DELIVERED":
            self._return(plan, rng, order_id, out)
        return None

    def _capture(self, plan: Plan, out: Outcome) -> str:
        country, city, lat, lon = plan.destination
        lines = [("NOPE-" + sku if plan.payment == "unknown_sku" and i == 0 else sku, q, price)
                 for i, (sku, q, price) in enumerate(plan.lines)]
        total = sum((price * q for _, q, price in lines), Decimal(0))
        payment: dict = {"status": "paid", "amount": str(total)}
        if plan.payment == "authorized":
            payment = {"status": "authorized", "amount": str(total), "provider": "sandbox",
                       "intent_id": f"pi_soak_{self.run_id}_{plan.n}"}
        elif plan.payment == "pending":  # the payment provider's webhook authorises it later
            payment = {"status": "pending", "amount": str(total), "intent_id": f"pi_soak_{self.run_id}_{plan.n}"}
        elif plan.payment == "mismatch":  # held PAYMENT_MISMATCH for a person
            payment = {"status": "paid", "amount": str(total + 1)}
        body: dict[str, Any] = {
            "channel_order_id": f"SOAK-{self.run_id}-{plan.n}",
            "customer": {"id": f"cust-{plan.n % 97}", "email": f"soak{plan.n}@example.com", "name": "Soak Buyer",
                         "language": "en"},
            "shipping_address": {"line1": "Soakstr. 1", "city": city, "country": country, "lat": lat, "lon": lon},
            "lines": [{"sku": sku, "quantity": q, "unit_price": str(price)} for sku, q, price in lines],
            "currency": "EUR", "payment": payment, "promised_by": (datetime.now(UTC) + timedelta(days=3)).isoformat()}
        answer = self.api.call("POST", "/orders", plan.channel, body)
        order_id = answer.body["order_id"]
        if plan.capture_twice:  # the channel did not see the answer and sends it again
            again = self.api.call("POST", "/orders", plan.channel, body)
            out.events.append("captured twice")
            if again.body["order_id"] != order_id:
                self.api.observed.append(Violation("one_order_per_channel_order_id", order_id,
                                               f"the same capture answered {again.body['order_id']}"))
        self.api.acks.captures[(plan.channel, body["channel_order_id"])] = order_id
        return order_id

    def _probe(self, plan: Plan, order_id: str) -> None:
        other = next(c for c in CHANNELS if c != plan.channel)
        for method, path in (("GET", f"/orders/{order_id}"), ("POST", f"/orders/{order_id}/cancel")):
            answer = self.api.call(method, path, other, {} if method == "POST" else None, ok=(200, 404, 409))
            if answer.status != 404:
                self.api.observed.append(Violation("channel_isolation", order_id,
                                               f"{other} {method} {path} answered {answer.status}"))

    def _held(self, plan: Plan, rng: random.Random, order_id: str, out: Outcome) -> dict:
        if plan.payment == "pending":
            self._paid(plan, rng, order_id, out)
        elif plan.hold == "reject" or plan.payment == "unknown_sku":
            self.api.call("POST", f"/orders/{order_id}/reject", "operator", {"reason": "soak: not accepted"})
            out.events.append("hold rejected")
        else:
            self.api.call("POST", f"/orders/{order_id}/release", "operator")
            out.events.append("hold released")
        return self.table.wait(lambda: self.table.order(order_id),
                               lambda o: o["status"] not in ("RECEIVED", "ON_HOLD"))

    def _paid(self, plan: Plan, rng: random.Random, order_id: str, out: Outcome) -> None:
        """Stripe tells us the customer authorised the payment (sometimes twice: applied once)."""
        order = self.table.order(order_id)
        cents = int(Decimal(order["total"]) * 100)
        event_id = f"evt_soak_{self.run_id}_{plan.n}"
        event = {"id": event_id, "object": "event", "type": "payment_intent.amount_capturable_updated",
                 "created": int(time.time()), "livemode": False, "data": {"object": {
                     "id": order["payment"]["intent_id"], "object": "payment_intent", "currency": "eur",
                     "amount": cents, "amount_capturable": cents, "amount_received": 0,
                     "metadata": {"order_id": order_id}}}}
        body = json.dumps(event).encode()
        for _ in range(2 if rng.random() < 0.3 else 1):
            at = str(int(time.time()))
            signature = hmac.new(DEMO_PAYMENT_SECRET["stripe_webhook_secret"].encode(), f"{at}.".encode() + body,
                                 hashlib.sha256).hexdigest()
            self.api.call("POST", "/webhooks/payments/stripe", None, data=body, headers={
                "Stripe-Signature": f"t={at},v1={signature}", "Content-Type": "application/json"})
        self.api.acks.payment_events.add((order_id, event_id))
        out.events.append("paid by webhook")

    def _cancel(self, plan: Plan, order_id: str, out: Outcome) -> None:
        answer = self.api.call("POST", f"/orders/{order_id}/cancel", plan.channel, {"reason": "soak: changed mind"},
                               ok=(200, 409))
        if answer.status == 200:
            self.api.acks.cancels.add(order_id)
            out.events.append("cancelled")

    def _cancel_lines(self, plan: Plan, rng: random.Random, order_id: str, order: dict, out: Outcome) -> None:
        units = {line["sku"]: line["quantity"] for line in order["request"]["lines"]}
        sku = rng.choice(sorted(units))
        body: dict[str, Any] = {"reason": "soak: one less", "cancellation_id": f"less-{plan.n}",
                                "lines": [{"sku": sku, "quantity": 1 if units[sku] > 1 else units[sku]}]}
        for _ in range(2 if rng.random() < 0.3 else 1):  # sometimes sent twice: the same id changes nothing more
            answer = self.api.call("POST", f"/orders/{order_id}/cancel", plan.channel, body, ok=(200, 409))
            if answer.status == 200:
                self.api.acks.line_cancels.add((order_id, body["cancellation_id"]))
        out.events.append("lines cancelled")

    # ------------------------------------------------------------------ fulfilment

    def _fulfil(self, plan: Plan, rng: random.Random, order_id: str, out: Outcome) -> None:
        done: set[str] = set()
        rejected, parcels = False, 0
        waiting_since = None
        deadline = time.monotonic() + DEADLINE_S
        while True:
            order = self.table.order(order_id)
            if order["status"] in FINAL:
                return
            if order["status"] in ("RECEIVED", "ON_HOLD") or time.monotonic() > deadline:
                out.events.append(f"left {order['status']}")  # its message is in a DLQ: the drain redrives it
                return
            moved = False
            for fo_id in order["fulfillment_order_ids"]:
                fo = None if fo_id in done else self.table.fulfillment_order(fo_id)
                if fo is None:
                    continue
                done.add(fo_id)
                if fo["status"] in ("SHIPPED", "COLLECTED", "REJECTED", "CANCELLED"):
                    continue
                moved = True
                if plan.fate == "reject_part" and not rejected:
                    rejected = True
                    self.api.call("POST", f"/fulfillment-orders/{fo_id}/reject", "operator",
                                  {"reason": "soak: damaged on the shelf"})
                    out.events.append("part rejected")
                    continue
                parcels = self._ship(plan, rng, fo, parcels, out)
            if order["status"] == "SHIPPED":
                self._await_delivery(order_id)
                return
            if order["backordered"] and not moved:
                waiting_since = waiting_since or datetime.now(UTC)
                if (datetime.now(UTC) - waiting_since).total_seconds() > PATIENCE_S:
                    self._cancel_rest(plan, order_id, order, out)
                    waiting_since = None
            self.table.wait(lambda: None, lambda _: False, timeout=0.4 if moved else 1.0)

    def _ship(self, plan: Plan, rng: random.Random, fo: dict, parcels: int, out: Outcome) -> int:
        fo_id = fo["fulfillment_order_id"]
        if not plan.wms:
            for step in ("accept", "pick", "pack"):
                for _ in range(2 if rng.random() < 0.1 else 1):  # a repeated step answers the same
                    self.api.call("POST", f"/fulfillment-orders/{fo_id}/{step}", "operator")
        lines = [(ln["sku"], ln["quantity"] - ln["shipped"]) for ln in fo["lines"] if ln["quantity"] > ln["shipped"]]
        units = sum(q for _, q in lines)
        parts = [[{"sku": lines[0][0], "quantity": 1}], []] if plan.two_parcels and units > 1 else [[]]
        for part in parts:
            parcels += 1
            shipment_id = f"P-{self.run_id}-{plan.n}-{parcels}"
            code = f"SK{self.run_id}{plan.n:06d}{parcels}".upper()
            body = {"shipment_id": shipment_id, "lines": part, "carrier": "DHL", "tracking_number": code}
            for _ in range(2 if rng.random() < 0.1 else 1):  # a retried ship ships nothing more
                self.api.call("POST", f"/fulfillment-orders/{fo_id}/ship", "operator", body)
            self.api.acks.shipments.add(shipment_id)
            self._track(plan, rng, code, out)
        out.events.append(f"{len(parts)} parcel(s)")
        return parcels

    def _track(self, plan: Plan, rng: random.Random, code: str, out: Outcome) -> None:
        start = datetime.now(UTC)
        updates = [(status, start + timedelta(hours=i + 1)) for i, status in enumerate(TRACKING)]
        if not plan.webhook_chaos:
            updates = [updates[0], updates[-1]]
        else:
            updates += [rng.choice(updates) for _ in range(rng.randint(1, 2))]  # duplicates
            rng.shuffle(updates)  # and out of order: an older one after a newer is kept, not applied
            out.events.append("webhooks out of order")
        secret = DEMO_CARRIER_SECRET["webhook_secret"]
        for status, at in updates:
            payload, headers = canonical_webhook(secret, code, status, at)
            self.api.call("POST", "/webhooks/carriers/soakpost", None, data=payload, headers=headers)
            self.api.acks.webhooks.add((code, f"bench-{code}-{status}"))

    def _await_delivery(self, order_id: str) -> None:
        self.table.wait(lambda: self.table.order(order_id)["status"], lambda s: s in FINAL)

    def _cancel_rest(self, plan: Plan, order_id: str, order: dict, out: Outcome) -> None:
        """Stock did not come in time: the channel cancels what still waits (all of it if nothing else)."""
        lines = [{"sku": b["sku"], "quantity": b["quantity"]} for b in order["backordered"]]
        cancellation_id = f"rest-{plan.n}-{len(order['cancellations'])}"
        answer = self.api.call("POST", f"/orders/{order_id}/cancel", plan.channel,
                               {"reason": "soak: not in stock", "cancellation_id": cancellation_id, "lines": lines},
                               ok=(200, 409))
        if answer.status == 200:
            self.api.acks.line_cancels.add((order_id, cancellation_id))
            out.events.append("backorder cancelled")

    # ------------------------------------------------------------------ returns

    def _refund(self, rma: str) -> None:
        """POST /returns/{rma}/refund. Asked right after delivery, it can come before settle-payments
        captured the parcel (409 "not captured yet"): asked again a moment later, as an operator would."""
        for _ in range(NOT_YET_TRIES):
            answer = self.api.call("POST", f"/returns/{rma}/refund", "operator", {}, ok=(200, 409))
            if answer.status == 200:
                return
            if "not captured yet" not in str((answer.body or {}).get("message")):
                raise GaveUp(f"POST /returns/{rma}/refund: 409 {answer.body}")
            time.sleep(1.0)
        raise GaveUp(f"POST /returns/{rma}/refund: still not captured after {NOT_YET_TRIES} tries")

    def _return(self, plan: Plan, rng: random.Random, order_id: str, out: Outcome) -> None:
        order = self.table.order(order_id)
        shipped: dict[str, int] = {}
        for sid in order["shipment_ids"]:
            shipment = self.table.doc(f"SHIPMENT#{sid}", "SHIPMENT") or {"lines": {}}
            for sku, q in shipment["lines"].items():
                shipped[sku] = shipped.get(sku, 0) + q
        if not shipped:
            return
        sku = rng.choice(sorted(shipped))
        ask = {"request_id": f"rma-{plan.n}", "reason": rng.choice(("damaged", "changed_mind", "size_or_fit")),
               "lines": [{"sku": sku, "quantity": 1}], "refund_method": plan.refund_method}
        rma = self.api.call("POST", f"/orders/{order_id}/returns", plan.channel, ask).body["rma_id"]
        self.api.acks.returns.add(rma)
        self.api.call("POST", f"/returns/{rma}/approve", "operator", {})
        receipt: dict[str, Any] = {"receipt_id": f"rcpt-{plan.n}", "lines": [{
            "sku": sku, "quantity": 1, "condition": "new" if plan.restock_return else "damaged",
            "disposition": "restock" if plan.restock_return else "write_off",
            **({} if plan.restock_return else {"note": "soak: torn"})}]}
        for _ in range(2 if rng.random() < 0.2 else 1):  # a repeated receipt moves nothing twice
            self.api.call("POST", f"/returns/{rma}/receive", "operator", receipt)
        self.api.acks.receipts.add((rma, receipt["receipt_id"]))
        for _ in range(2 if rng.random() < 0.3 else 1):  # a repeated refund refunds nothing more
            self._refund(rma)
        self.api.acks.refunds.add(rma)
        out.events.append(f"returned, {'restocked' if plan.restock_return else 'written off'}, {plan.refund_method}")
