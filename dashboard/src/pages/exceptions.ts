// Exceptions: a work queue of orders on hold (GET /orders?status=ON_HOLD: a hold is the order's status,
// not an exception record), then what reconciliation, tracking and the payment flows listed for the
// operator (GET /admin/exceptions: stuck, late, disputed...), all or of one kind (?kind=), refreshed.
import { get, query } from "../api";
import { field, h, poll, select, table, when } from "../ui";
import type { OrderSummary } from "./orders";

interface OpenException { kind: string; subject: string; order_id: string | null; status: string | null; reason: string;
  suggested_action: string | null; since: string | null; raised_at: string; age_minutes: number | null }

// shared/domain/reconciliation.py ExceptionKind
const KINDS = ["STUCK_ORDER", "LATE_SHIPMENT", "SILENT_SHIPMENT", "UNCOLLECTED_PICKUP", "PAYMENT_PROBLEM", "AUTHORIZATION_AGING",
  "CHANNEL_CONFLICT", "CHANNEL_PAYLOAD_REJECTED"];

export function exceptionsPage(main: HTMLElement): () => void {
  const kind = select("kind", [["", "Every kind"], ...KINDS.map((k): [string, string] => [k, k.replace(/_/g, " ").toLowerCase()])]);
  const results = h("div", { id: "exception-results" });
  const held = h("div", { id: "held-orders" });
  main.replaceChildren(h("h1", {}, "Exceptions"),
    h("p", { class: "muted" }, "Stuck orders, late or silent parcels, payment problems, ageing authorisations and more, as reconciliation and tracking list them."),
    h("form", { class: "filters", "aria-label": "Filter exceptions", onsubmit: (e: Event) => { e.preventDefault(); void refresh(); } },
      field("Kind", kind)),
    held, results);
  let seq = 0;
  const refresh = async () => {
    const mine = ++seq;
    const [page, holds] = await Promise.all([
      get<{ exceptions: OpenException[] }>(`/admin/exceptions${query({ kind: kind.value, limit: 200 })}`),
      get<{ orders: OrderSummary[] }>(`/orders${query({ status: "ON_HOLD", limit: 100 })}`)]);
    if (mine !== seq) return; // an older answer never overwrites a newer filter's
    held.replaceChildren(table(`Orders on hold (${holds.orders.length})`, ["Order", "Channel", "Channel order", "Since"],
      holds.orders.map((o) => [h("a", { href: `#/orders/${encodeURIComponent(o.order_id)}` }, o.order_id), o.channel,
        o.request.channel_order_id, when(o.updated_at)]), "none on hold"));
    results.replaceChildren(table(`Open exceptions (${page.exceptions.length})`,
      ["Kind", "Subject", "Status", "Reason", "Suggested action", "Since", "Raised"],
      page.exceptions.map((x) => [x.kind,
        x.order_id ? h("a", { href: `#/orders/${encodeURIComponent(x.order_id)}` }, x.order_id) : x.subject,
        x.status, x.reason, x.suggested_action, when(x.since), when(x.raised_at)]), "none open"));
  };
  kind.addEventListener("change", () => void refresh());
  return poll(refresh, 10000);
}
