// Fulfilment: a location's fulfilment orders by status (GET /locations/{id}/fulfillment-orders), refreshed.
import { get, pickableLocations, query } from "../api";
import { badge, field, h, poll, select, showError, table, when } from "../ui";

const STATUSES = ["OPEN", "ACCEPTED", "PICKED", "PACKED", "PARTIALLY_SHIPPED", "SHIPPED", "READY_FOR_PICKUP", "COLLECTED",
  "REJECTED", "CANCELLED"];

interface FulfillmentOrder { fulfillment_order_id: string; order_id: string; channel: string; status: string; pickup: boolean;
  lines: { sku: string; quantity: number; shipped: number }[]; customer_name: string | null; promised_by: string | null;
  created_at: string }

export function fulfilmentPage(main: HTMLElement): () => void {
  const location = select("location", []);
  const status = select("status", STATUSES.map((s): [string, string] => [s, s.replace(/_/g, " ")]), "OPEN");
  const results = h("div", { id: "fo-results" });
  const refresh = async () => {
    if (!location.value) return;
    const page = await get<{ fulfillment_orders: FulfillmentOrder[] }>(
      `/locations/${encodeURIComponent(location.value)}/fulfillment-orders${query({ status: status.value })}`);
    results.replaceChildren(table(`Fulfilment orders at ${location.value} (${page.fulfillment_orders.length})`,
      ["Fulfilment order", "Order", "Status", "Lines", "For", "Promised by", "Created"],
      page.fulfillment_orders.map((f) => [f.fulfillment_order_id,
        h("a", { href: `#/orders/${encodeURIComponent(f.order_id)}` }, f.order_id), badge(f.status),
        f.lines.map((l) => `${l.sku} ×${l.quantity}`).join(", "), (f.pickup ? "pickup: " : "") + (f.customer_name ?? ""),
        when(f.promised_by), when(f.created_at)]), "none"));
  };
  for (const c of [location, status]) c.addEventListener("change", () => void refresh().catch(showError));
  main.replaceChildren(h("h1", {}, "Fulfilment"),
    h("form", { class: "filters", "aria-label": "Choose location and status", onsubmit: (e: Event) => e.preventDefault() },
      field("Location", location), field("Status", status)), results);
  let stop = () => {};
  let left = false;
  void pickableLocations().then((list) => {
    for (const l of list) location.append(h("option", { value: l.location_id }, `${l.location_id} (${l.name})`));
    if (!left) stop = poll(refresh, 5000);
  }).catch(showError);
  return () => { left = true; stop(); };
}
