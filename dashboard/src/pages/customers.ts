// Customers: one customer's orders, lifetime value, exceptions and service notes (GET /customers/{id}),
// and a note added (POST /customers/{id}/notes).
import { get, post, query } from "../api";
import { badge, field, h, showError, showNotice, table, when, gate } from "../ui";

interface CustomerView {
  customer_id: string;
  orders: { order_id: string; channel: string; channel_order_id: string; status: string; placed_at: string; total: string; currency: string }[];
  summary: null | {
    lifetime_value: { base_currency: string; base_amount: string; by_currency: Record<string, string>; complete: boolean;
      orders_converted?: number; orders_counted?: number };
    exceptions: { order_id: string; kind: string; detail: string }[];
    notes: { text: string; by: string; at: string }[] | null;
  };
}

export function customersPage(main: HTMLElement, initial = ""): () => void {
  const id = h("input", { type: "search", name: "customer", required: true, value: initial, placeholder: "cust-42" });
  const channel = h("input", { type: "text", name: "channel", placeholder: "all channels" });
  const view = h("div", { id: "customer-view" });
  const show = async () => {
    const customer = id.value.trim();
    if (!customer) return;
    const c = await get<CustomerView>(`/customers/${encodeURIComponent(customer)}${query({ channel: channel.value.trim(), limit: 50 })}`);
    const s = c.summary;
    const note = h("textarea", { name: "note", rows: 3, maxlength: 2000, required: true });
    view.replaceChildren(
      s ? h("dl", { class: "summary" },
        h("dt", {}, "Lifetime value"), h("dd", {}, `${s.lifetime_value.base_amount} ${s.lifetime_value.base_currency}` +
          // Orders whose currency had no FX rate that day are left out of the base amount, never guessed.
          (s.lifetime_value.orders_counted !== undefined && s.lifetime_value.orders_converted !== s.lifetime_value.orders_counted
            ? ` (${s.lifetime_value.orders_converted} of ${s.lifetime_value.orders_counted} orders converted: no FX rate for the rest)` : "") +
          (s.lifetime_value.complete ? "" : " (incomplete)")),
        h("dt", {}, "By currency"), h("dd", {}, Object.entries(s.lifetime_value.by_currency).map(([k, v]) => `${v} ${k}`).join(", "))) : "",
      table("Orders", ["Order", "Channel", "Channel order", "Status", "Total", "Placed"], c.orders.map((o) => [
        h("a", { href: `#/orders/${encodeURIComponent(o.order_id)}` }, o.order_id), o.channel, o.channel_order_id,
        badge(o.status), `${o.total} ${o.currency}`, when(o.placed_at)]), "none"),
      table("Open exceptions", ["Order", "Kind", "Detail"], (s?.exceptions ?? []).map((x) => [x.order_id, x.kind, x.detail]), "none"),
      table("Notes", ["When", "By", "Note"], (s?.notes ?? []).map((n) => [when(n.at), n.by, n.text]), "none"),
      gate(h("form", { class: "panel", "aria-label": "Add a note", onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          await post(`/customers/${encodeURIComponent(customer)}/notes`, { text: note.value, request_id: `console-${Date.now()}` });
          showNotice("Note added");
          await show();
        } catch (err) {
          showError(err);
        }
      } }, field("Note text", note), h("button", { type: "submit" }, "Add note")), "note.write"));
  };
  main.replaceChildren(h("h1", {}, "Customers"),
    h("form", { class: "filters", role: "search", "aria-label": "Find a customer", onsubmit: (e: Event) => {
      e.preventDefault();
      void show().catch(showError);
    } }, field("Customer id", id), field("Channel (optional)", channel), h("div", { class: "field" }, h("button", { type: "submit" }, "Show"))),
    view);
  if (initial) void show().catch(showError);
  return () => {};
}
