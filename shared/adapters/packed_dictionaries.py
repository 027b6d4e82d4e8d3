"""Preset dictionaries for compressed documents (shared/adapters/packed.py).

A 2-3 KB order compresses on its own to about 45% only: zlib has seen nothing yet when it meets the
field names, status names and routing phrases every order repeats. Primed with a sample of what an
order looks like it writes those as back-references from the first byte: about 300 bytes instead
of 1,200, so the order item stays under 1 KB (one write unit per started KB, two in a transaction).

A dictionary is part of the stored format: zlib writes its Adler-32 in each stream's header, and a
reader needs the very same bytes to read it back. Never edit a dictionary here; add another (and
point the writer at it), and keep this one for the items written with it.

The sample holds no personal data: placeholders where an order has a name, an email or an address.
"""

from __future__ import annotations

# An order through capture, allocation, shipping and delivery, as Order.model_dump_json() writes it,
# with the phrases routing, history and payment repeat. What is likeliest to recur sits last: zlib
# finds the nearest copy, and nearer copies cost fewer bits.
ORDER_V1 = (
    b'"status":"ON_HOLD","status":"BACKORDERED","status":"PARTIALLY_ALLOCATED","status":"PARTIALLY_SHIPPED",'
    b'"status":"COMPLETED","status":"CANCELLED","status":"REJECTED",'
    b'"holds":[{"reason":"","detail":"","placed_at":"","released_at":null,"released_by":null}],'
    b'"method":"cash_on_delivery","authorization_open":true,"authorized_at":"'
    b'{"kind":"refund","key":"","amount":"","at":"","provider_ref":"'
    b'"fulfillment":{"type":"pickup","location_id":"'
    b' km from the destination, priority 2, handling cost 0'
    b'"has none of the ordered SKUs available","does not ship to the destination country",'
    b'"fewest_parcels: 2 parcels","nearest: 1,867 km","priority: total 2","lowest_handling_cost: EUR 0.00",'
    b'{"order_id":"o0000000000000000000000000","channel":"web","version":3,"status":"DELIVERED",'
    b'"created_at":"2026-01-01T00:00:00.000000Z","updated_at":"2026-01-01T00:00:00.000000Z",'
    b'"request":{"channel_order_id":"","customer":{"id":"","email":"","name":"","phone":null,'
    b'"language":"en"},"shipping_address":{"name":null,"line1":"","line2":null,"city":"",'
    b'"postal_code":"","region":null,"country":"DE","lat":null,"lon":null},'
    b'"lines":[{"sku":"SKU-","quantity":1,"unit_price":"10.00"}],"currency":"EUR",'
    b'"payment":{"status":"paid","amount":"10.00","provider":null,"intent_id":null},'
    b'"fulfillment":{"type":"ship","location_id":null},"shipping_price":"0","discount_total":"0",'
    b'"tax_total":null,"promised_by":null,"note":null},"request_fingerprint":"","total":"10.00",'
    b'"allocations":[{"location_id":"","sku":"SKU-","quantity":1}],"backordered":[],"holds":[],'
    b'"history":[{"status":"RECEIVED","at":"2026-01-01T00:00:00.000000Z","note":null,"by":null},'
    b'{"status":"ALLOCATED","at":"2026-01-01T00:00:00.000000Z",'
    b'"note":": fills the whole order in one shipment; 2 km from the destination, priority 1, handling cost 0",'
    b'"by":null},{"status":"SHIPPED","at":"2026-01-01T00:00:00.000000Z",'
    b'"note":"fulfilment order f0000000000000000000000 shipped","by":"operator"},'
    b'{"status":"DELIVERED","at":"2026-01-01T00:00:00.000000Z","note":"shipment  delivered, the last",'
    b'"by":null}],"routing":[{"decided_at":"2026-01-01T00:00:00.000000Z","locations":[""],'
    b'"reasons":[": fills the whole order in one shipment; 2 km from the destination, priority 1, '
    b'handling cost 0","fewest_parcels: 1 parcel; no other plan has as few","nearest: 2 km",'
    b'"priority: total 1","lowest_handling_cost: EUR 0.00"],"excluded":{"":'
    b'"has none of the ordered SKUs available"},"excluded_omitted":0,"strategy_id":"default",'
    b'"strategy_version":0,"estimate":{"parcels":1,"distance_km":2.2,"cost":null,"currency":null,'
    b'"co2e_kg":"0.001","delivery_by":null},"stock_seen":{"SKU-":{"":10}},"orders_today":{},'
    b'"picture_omitted":0,"picture_recorded":true,"assigned":{"":{"SKU-":1}}}],'
    b'"fulfillment_order_ids":["f0000000000000000000000"],"rejected_locations":[],"shipment_ids":[""],'
    b'"delays":[],"cancel_reason":null,"cancellations":[],"payment":{"method":"prepaid",'
    b'"provider":"external","currency":"EUR","amount_due":"10.00","authorized":"10.00",'
    b'"reported_captured":"0","reported_refunded":"0","authorization_open":false,"authorized_at":null,'
    b'"intent_id":null,"charge_id":null,"failures":0,"failed":false,"last_failure":null,"disputed":false,'
    b'"capture_problem":null,"movements":[{"kind":"capture","key":"paid-at-checkout","amount":"10.00",'
    b'"at":"2026-01-01T00:00:00.000000Z","provider_ref":null}],"applied_events":[],'
    b'"updated_at":"2026-01-01T00:00:00.000000Z","captured":"10.00","refunded":"0","collected":"0",'
    b'"due":"10.00","status":"captured"},"channel_record":null}'
)
