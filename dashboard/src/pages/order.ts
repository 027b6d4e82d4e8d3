// One order: everything the OMS knows of it, refreshed while it moves, and the operator's actions.
import { get, post } from "../api";
import { badge, field, gate, h, poll, select, showError, showNotice, table, when } from "../ui";
import type { OrderSummary } from "./orders";

interface Line { sku: string; quantity: number; unit_price: string }
interface Order extends OrderSummary {
  version: number;
  request: OrderSummary["request"] & { lines: Line[]; shipping_address: Record<string, string | null>; payment: { status: string } };
  allocations: { location_id: string; sku: string; quantity: number }[];
  backordered: { sku: string; quantity: number }[];
  holds: { reason: string; detail: string | null; placed_at: string; released_at: string | null; released_by: string | null }[];
  history: { status: string; at: string; note: string | null; by: string | null }[];
  routing: { decided_at: string; locations: string[]; reasons: string[]; excluded: Record<string, string>; strategy_id: string }[];
  fulfillment_order_ids: string[];
  shipments: Shipment[];
  payment: Record<string, unknown> & { movements?: Record<string, unknown>[] } | null;
  cancel_reason: string | null;
}
interface Shipment {
  shipment_id: string; carrier: string | null; tracking_code: string | null; status: string; location_id: string;
  lines: Record<string, number>; history?: { status: string; occurred_at: string; message: string | null; applied: boolean }[];
  tracking_url?: string | null;
}
interface FulfillmentOrder { fulfillment_order_id: string; location_id: string; status: string; pickup: boolean;
  lines: { sku: string; quantity: number; shipped: number }[]; reject_reason: string | null }

// An order can be returned from once something of it was delivered (shared/services/returns.py RETURNABLE).
const RETURNABLE = new Set(["PARTIALLY_SHIPPED", "SHIPPED", "DELIVERED", "COMPLETED"]);
const RETURN_REASONS = ["damaged", "defective", "wrong_item", "not_as_described", "size_or_fit", "changed_mind", "other"];
const CANCELLABLE = new Set(["RECEIVED", "ON_HOLD", "BACKORDERED", "PARTIALLY_ALLOCATED", "ALLOCATED", "PARTIALLY_SHIPPED"]);

function details(order: Order, fos: FulfillmentOrder[], invoices: Record<string, unknown>[], returns: Record<string, unknown>[]): HTMLElement {
  const r = order.request;
  const address = r.shipping_address;
  const summary = h("dl", { class: "summary" },
    h("dt", {}, "Status"), h("dd", {}, badge(order.status)),
    h("dt", {}, "Channel"), h("dd", {}, `${order.channel} · ${r.channel_order_id}`),
    h("dt", {}, "Customer"), h("dd", {}, [r.customer?.name, r.customer?.email].filter(Boolean).join(" · "), " ",
      r.customer?.id ? h("a", { href: `#/customers/${encodeURIComponent(r.customer.id)}` }, r.customer.id) : ""),
    h("dt", {}, "Ship to"), h("dd", {}, [address?.line1, address?.postal_code, address?.city, address?.country].filter(Boolean).join(", ")),
    h("dt", {}, "Total"), h("dd", {}, `${order.total} ${r.currency}`),
    h("dt", {}, "Created"), h("dd", {}, when(order.created_at)),
    order.cancel_reason ? h("dt", {}, "Cancel reason") : null, order.cancel_reason ? h("dd", {}, order.cancel_reason) : null);
  const payment = order.payment;
  return h("div", { class: "sections" },
    h("section", { "aria-labelledby": "s-summary" }, h("h2", { id: "s-summary" }, "Summary"), summary),
    h("section", { "aria-labelledby": "s-holds" }, h("h2", { id: "s-holds" }, "Holds"),
      table("Holds", ["Reason", "Detail", "Placed", "Released", "By"], order.holds.map((x) =>
        [x.reason, x.detail, when(x.placed_at), when(x.released_at), x.released_by]))),
    h("section", { "aria-labelledby": "s-lines" }, h("h2", { id: "s-lines" }, "Lines"),
      table("Lines", ["SKU", "Quantity", "Unit price"], r.lines.map((l) => [l.sku, l.quantity, l.unit_price])),
      order.backordered.length ? table("Backordered", ["SKU", "Quantity"], order.backordered.map((b) => [b.sku, b.quantity])) : null),
    h("section", { "aria-labelledby": "s-alloc" }, h("h2", { id: "s-alloc" }, "Allocations and routing"),
      table("Allocations", ["Location", "SKU", "Quantity"], order.allocations.map((a) => [a.location_id, a.sku, a.quantity])),
      ...order.routing.map((d, i) => h("div", { class: "routing" },
        h("h3", {}, `Routing decision ${i + 1}: ${d.locations.join(", ") || "no location"} (${d.strategy_id}, ${when(d.decided_at)})`),
        h("ul", {}, ...d.reasons.map((reason) => h("li", {}, reason))),
        Object.keys(d.excluded || {}).length
          ? h("p", { class: "muted" }, "Excluded: " + Object.entries(d.excluded).map(([loc, why]) => `${loc} (${why})`).join("; "))
          : null))),
    h("section", { "aria-labelledby": "s-fo" }, h("h2", { id: "s-fo" }, "Fulfilment orders"),
      table("Fulfilment orders", ["Id", "Location", "Status", "Lines", "Reject reason"], fos.map((f) => [
        f.fulfillment_order_id, f.location_id + (f.pickup ? " (pickup)" : ""), badge(f.status),
        f.lines.map((l) => `${l.sku} ×${l.quantity} (${l.shipped} shipped)`).join(", "), f.reject_reason]))),
    h("section", { "aria-labelledby": "s-ship" }, h("h2", { id: "s-ship" }, "Shipments"),
      table("Shipments", ["Shipment", "From", "Carrier", "Tracking", "Status", "Tracking history"], order.shipments.map((s) => [
        s.shipment_id, s.location_id, s.carrier, s.tracking_url ? h("a", { href: s.tracking_url, rel: "noopener" }, s.tracking_code ?? "track") : s.tracking_code,
        badge(s.status), (s.history ?? []).filter((t) => t.applied).map((t) => `${when(t.occurred_at)} ${t.status}${t.message ? `: ${t.message}` : ""}`).join(" → ")]))),
    h("section", { "aria-labelledby": "s-pay" }, h("h2", { id: "s-pay" }, "Payment"),
      payment ? h("dl", { class: "summary" }, ...["status", "method", "provider", "amount_due", "captured", "refunded", "due"].flatMap((k) =>
        [h("dt", {}, k.replace(/_/g, " ")), h("dd", {}, String(payment[k] ?? ""))])) : h("p", { class: "empty" }, "No payment record"),
      table("Payment movements", ["Kind", "Amount", "At"], (payment?.movements ?? []).map((m) => [String(m.kind ?? m.type ?? ""), String(m.amount ?? ""), when(m.at as string)]))),
    h("section", { "aria-labelledby": "s-docs" }, h("h2", { id: "s-docs" }, "Invoices and returns"),
      table("Invoices", ["Number", "Kind", "Total", "Issued"], invoices.map((i) => [String(i.number ?? i.document_id ?? ""), String(i.kind ?? ""), String(i.total ?? ""), when((i.issued_at ?? i.created_at) as string)])),
      table("Returns", ["RMA", "Status", "Created"], returns.map((x) => [h("a", { href: `#/returns/${encodeURIComponent(String(x.rma_id ?? ""))}` }, String(x.rma_id ?? "")), badge(String(x.status ?? "")), when(x.created_at as string)]))),
    h("section", { "aria-labelledby": "s-time" }, h("h2", { id: "s-time" }, "Timeline"),
      h("ol", { class: "timeline" }, ...order.history.map((e) => h("li", {},
        h("time", { datetime: e.at }, when(e.at)), " ", badge(e.status), e.note ? ` ${e.note}` : "", e.by ? h("em", {}, ` by ${e.by}`) : "")))));
}

function actions(order: Order, reload: () => Promise<void>): HTMLElement {
  const id = encodeURIComponent(order.order_id);
  const act = async (label: string, path: string, body?: unknown) => {
    try {
      await post(path, body);
      showNotice(`${label}: done`);
      await reload();
    } catch (e) {
      showError(e);
    }
  };
  const box = h("section", { class: "actions", "aria-labelledby": "s-actions" }, h("h2", { id: "s-actions" }, "Actions"));
  if (order.status === "ON_HOLD") {
    const reason = h("input", { type: "text", name: "reject-reason", maxlength: 500 });
    box.append(
      gate(h("button", { type: "button", id: "release", onclick: () => void act("Released", `/orders/${id}/release`) }, "Release hold"), "order.write"),
      gate(h("form", { class: "inline", "aria-label": "Reject order", onsubmit: (e: Event) => {
        e.preventDefault();
        void act("Rejected", `/orders/${id}/reject`, reason.value ? { reason: reason.value } : undefined);
      } }, field("Reject reason", reason), h("button", { type: "submit", class: "danger" }, "Reject")), "order.write"));
  }
  if (CANCELLABLE.has(order.status)) {
    const reason = h("input", { type: "text", name: "cancel-reason", maxlength: 500 });
    const qty = order.request.lines.map((l) => h("input", { type: "number", min: 0, max: l.quantity, value: 0, name: `qty-${l.sku}` }));
    box.append(
      gate(h("form", { class: "inline", "aria-label": "Cancel the whole order", onsubmit: (e: Event) => {
        e.preventDefault();
        if (confirm("Cancel the whole order?")) void act("Cancelled", `/orders/${id}/cancel`, reason.value ? { reason: reason.value } : {});
      } }, field("Cancel reason", reason), h("button", { type: "submit", class: "danger" }, "Cancel order")), "order.write"),
      gate(h("form", { class: "inline", "aria-label": "Cancel some lines", onsubmit: (e: Event) => {
        e.preventDefault();
        const lines = order.request.lines.map((l, i) => ({ sku: l.sku, quantity: Number(qty[i].value) })).filter((l) => l.quantity > 0);
        if (!lines.length) return showError(new Error("Choose how many units of which line to cancel"));
        void act("Lines cancelled", `/orders/${id}/cancel`, { cancellation_id: `console-${Date.now()}`, lines });
      } }, ...order.request.lines.map((l, i) => field(`Cancel units of ${l.sku}`, qty[i])),
      h("button", { type: "submit" }, "Cancel these units")), "order.write"));
  }
  if (RETURNABLE.has(order.status)) box.append(gate(returnForm(order, act), "return.create"));
  if (box.children.length === 1) box.append(h("p", { class: "muted" }, `No action for an order that is ${order.status.replace(/_/g, " ").toLowerCase()}.`));
  return box;
}

// Start a return (POST /orders/{id}/returns, ReturnRequestBody): units per line, a reason, how to refund.
function returnForm(order: Order, act: (label: string, path: string, body?: unknown) => Promise<void>): HTMLElement {
  const reason = select("return-reason", RETURN_REASONS.map((r): [string, string] => [r, r.replace(/_/g, " ")]), "size_or_fit");
  const refund = select("refund-method", [["original_payment", "Original payment"], ["store_credit", "Store credit"]]);
  const comment = h("input", { type: "text", name: "return-comment", maxlength: 1000 });
  const qty = order.request.lines.map((l) => h("input", { type: "number", min: 0, max: l.quantity, value: 0, name: `return-${l.sku}` }));
  return h("form", { class: "inline", "aria-label": "Start a return", onsubmit: (e: Event) => {
    e.preventDefault();
    const skus = order.request.lines.map((l) => l.sku);
    const lines = order.request.lines.map((l, i) => ({ sku: l.sku, quantity: Number(qty[i].value),
      // `line` (the order line's index) only when the SKU is on more than one line
      ...(skus.indexOf(l.sku) !== skus.lastIndexOf(l.sku) ? { line: i } : {}) })).filter((l) => l.quantity > 0);
    if (!lines.length) return showError(new Error("Choose how many units of which line come back"));
    void act("Return started", `/orders/${encodeURIComponent(order.order_id)}/returns`, {
      request_id: `console-${Date.now()}`, reason: reason.value, lines, refund_method: refund.value,
      ...(comment.value ? { comment: comment.value } : {}) });
  } }, ...order.request.lines.map((l, i) => field(`Return units of ${l.sku}`, qty[i])), field("Return reason", reason),
  field("Refund to", refund), field("Comment", comment), h("button", { type: "submit" }, "Start a return"));
}

export function orderPage(main: HTMLElement, orderId: string): () => void {
  const body = h("div", {});
  const actionBox = h("div", {});
  main.replaceChildren(h("p", {}, h("a", { href: "#/orders" }, "← Orders")), h("h1", {}, `Order ${orderId}`), actionBox, body);
  let shown = "";
  let actionsFor = "";
  const load = async () => {
    const path = `/orders/${encodeURIComponent(orderId)}`;
    const order = await get<Order>(path);
    const key = `${order.version}|${order.updated_at}|${order.shipments.map((s) => s.status).join()}`;
    if (key === shown) return; // nothing moved: keep the page (and the reader's place) as it is
    const [fos, invoices, returns] = await Promise.all([
      Promise.all(order.fulfillment_order_ids.map((f) => get<FulfillmentOrder>(`/fulfillment-orders/${encodeURIComponent(f)}`))),
      get<unknown>(`${path}/invoices`).then(list).catch(() => []),
      get<unknown>(`${path}/returns`).then(list).catch(() => []),
    ]);
    body.replaceChildren(details(order, fos, invoices, returns));
    if (order.status !== actionsFor) { // forms being filled in stay unless the status changes
      // After an action the page is drawn again even when the order item did not move (a return is its own item).
      actionBox.replaceChildren(actions(order, () => { shown = ""; return load(); }));
      actionsFor = order.status;
    }
    shown = key;
  };
  return poll(load);
}

function list(value: unknown): Record<string, unknown>[] {
  if (Array.isArray(value)) return value;
  const v = value as Record<string, unknown>;
  const inner = Object.values(v ?? {}).find(Array.isArray);
  return (inner as Record<string, unknown>[]) ?? [];
}
