// Orders: filters, search and a list that refreshes itself while orders flow in.
import { get, query } from "../api";
import { badge, field, h, poll, select, table, when } from "../ui";

export const STATUSES = ["RECEIVED", "ON_HOLD", "BACKORDERED", "PARTIALLY_ALLOCATED", "ALLOCATED", "PARTIALLY_SHIPPED",
  "SHIPPED", "DELIVERED", "COMPLETED", "CANCELLED", "REJECTED"];
const PAGES = 5; // at most 5 pages of 200 are read per refresh; the console shows the newest first

export interface OrderSummary {
  order_id: string;
  channel: string;
  status: string;
  created_at: string;
  updated_at: string;
  total: string;
  request: { channel_order_id: string; currency: string; customer: { id?: string | null; name?: string | null; email?: string | null } };
}

// "Stuck" and "late" orders are the reconciliation's open exceptions of a kind (GET /admin/exceptions?kind=):
// an order past its status's SLA (STUCK_ORDER), a parcel running late: the carrier's estimate past the
// promise, or a problem it reported (LATE_SHIPMENT, raised by tracking, closed once it arrives).
const FLAGGED: Record<string, string> = { stuck: "STUCK_ORDER", late: "LATE_SHIPMENT" };
type Show = "all" | "held" | "stuck" | "late";

interface Filters { status: string; channel: string; from: string; to: string; show: Show; searchBy: string; search: string }

async function flaggedOrders(kind: string): Promise<OrderSummary[]> {
  const page = await get<{ exceptions: { order_id: string | null }[] }>(`/admin/exceptions${query({ kind, limit: 200 })}`);
  const ids = [...new Set(page.exceptions.map((x) => x.order_id).filter((x): x is string => !!x))];
  const orders = await Promise.all(ids.map((id) => get<OrderSummary>(`/orders/${encodeURIComponent(id)}`).catch(() => null)));
  return orders.filter((o): o is OrderSummary => o !== null).sort((a, b) => b.created_at.localeCompare(a.created_at));
}

async function listOrders(f: Filters, channels: string[]): Promise<OrderSummary[]> {
  if (FLAGGED[f.show]) return flaggedOrders(FLAGGED[f.show]);
  const term = f.search.trim();
  if (term && f.searchBy === "order_id") {
    try {
      return [await get<OrderSummary>(`/orders/${encodeURIComponent(term)}`)];
    } catch (e) {
      if ((e as { status?: number }).status === 404) return [];
      throw e;
    }
  }
  const base = {
    status: f.show === "held" ? "ON_HOLD" : f.status,
    created_from: f.from ? new Date(`${f.from}T00:00:00`).toISOString() : undefined,
    created_to: f.to ? new Date(`${f.to}T23:59:59.999`).toISOString() : undefined,
    channel_order_id: term && f.searchBy === "channel_order_id" ? term : undefined,
    customer_id: term && f.searchBy === "customer_id" ? term : undefined,
  };
  // A channel order id or a customer id is each channel's own: without a channel chosen, ask each.
  const perChannel = term && !f.channel ? channels : [f.channel];
  const lists = await Promise.all(perChannel.map((channel) => pages({ ...base, channel })));
  return lists.flat().sort((a, b) => b.created_at.localeCompare(a.created_at));
}

async function pages(params: Record<string, string | undefined>): Promise<OrderSummary[]> {
  const out: OrderSummary[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < PAGES; i++) {
    const page = await get<{ orders: OrderSummary[]; next_cursor: string | null }>(`/orders${query({ ...params, limit: 200, cursor })}`);
    out.push(...page.orders);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return out;
}

export function ordersPage(main: HTMLElement): () => void {
  const status = select("status", [["", "Any status"], ...STATUSES.map((s): [string, string] => [s, s.replace(/_/g, " ")])]);
  const channel = select("channel", [["", "Any channel"]]);
  const from = h("input", { type: "date", name: "from" });
  const to = h("input", { type: "date", name: "to" });
  const show = select("show", [["all", "All orders"], ["held", "Held only"], ["stuck", "Stuck only (past their status's SLA)"],
    ["late", "Late only (a parcel past its promise)"]]);
  const searchBy = select("searchBy", [["order_id", "Order id"], ["channel_order_id", "Channel order id"], ["customer_id", "Customer id"]]);
  const search = h("input", { type: "search", name: "search", placeholder: "e.g. WEB-1001" });
  const results = h("div", { id: "order-results" });
  const refreshed = h("p", { class: "muted", "aria-live": "polite" });
  let channels: string[] = [];

  const filters = (): Filters => ({ status: status.value, channel: channel.value, from: from.value, to: to.value,
    show: show.value as Show, searchBy: searchBy.value, search: search.value });

  let shown: string | null = null; // nothing rendered yet (an empty list is a key too)
  const render = (orders: OrderSummary[]) => {
    refreshed.textContent = `Refreshed ${new Date().toLocaleTimeString()} (every few seconds)`;
    const key = orders.map((o) => `${o.order_id}:${o.updated_at}`).join();
    if (key === shown) return; // nothing changed: keep the rows (and the keyboard focus) as they are
    shown = key;
    // A refresh keeps the focus on the same order's link, so polling never throws a keyboard user out.
    const focused = results.contains(document.activeElement) ? document.activeElement?.getAttribute("href") : null;
    results.replaceChildren(table(`Orders (${orders.length})`, ["Order", "Channel", "Channel order", "Customer", "Status", "Total", "Created"],
      orders.map((o) => [
        h("a", { href: `#/orders/${encodeURIComponent(o.order_id)}` }, o.order_id),
        o.channel,
        o.request.channel_order_id,
        o.request.customer?.name || o.request.customer?.id || "",
        badge(o.status),
        `${o.total} ${o.request.currency}`,
        when(o.created_at),
      ]), "no orders match"));
    if (focused) results.querySelector<HTMLElement>(`a[href="${CSS.escape(focused)}"]`)?.focus();
  };

  let seq = 0;
  const refresh = async () => {
    const mine = ++seq;
    const orders = await listOrders(filters(), channels);
    if (mine === seq) render(orders); // an older answer never overwrites a newer filter's
  };

  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter orders",
    onsubmit: (e: Event) => { e.preventDefault(); void refresh(); } },
    field("Status", status), field("Channel", channel), field("Created from", from), field("Created to", to),
    field("Show", show),
    field("Search by", searchBy), field("Search", search),
    h("div", { class: "field" }, h("button", { type: "submit" }, "Apply")));
  for (const control of [status, channel, from, to, show, searchBy]) control.addEventListener("change", () => void refresh());
  // Stuck and late orders are the open exceptions' own list: the other filters do not narrow it.
  show.addEventListener("change", () => {
    for (const c of [status, channel, from, to, searchBy, search]) c.disabled = FLAGGED[show.value] !== undefined;
  });

  main.replaceChildren(h("h1", {}, "Orders"), form, refreshed, results);
  void get<{ channel_id: string }[]>("/channels").then((list) => {
    channels = list.map((c) => c.channel_id).sort();
    for (const c of channels) channel.append(h("option", { value: c }, c));
  }).catch(() => undefined); // the list still works without the channel filter
  return poll(refresh);
}
