// Reports: sales per day and by channel, fulfilment KPIs (GET /reports/sales, /reports/fulfillment), and
// low stock with replenishment suggestions (GET /replenishment/suggestions), as small SVG charts with
// the same figures in tables, and CSV downloads (the reports API answers CSV to Accept: text/csv).
import { downloadCsv, get, query } from "../api";
import { can, needs, roles } from "../auth";
import { barChart } from "../charts";
import { field, h, showError, table } from "../ui";

interface Money { [currency: string]: string }
interface SalesRow { group: string; orders: number; units: number; gross: Money; net: Money;
  base: { gross: string; net: string } | null }
interface Sales { rows: SalesRow[]; totals: SalesRow; base_currency: string; fx_missing: unknown[] }
interface Times { p50_hours: number | null; p90_hours: number | null; count: number }
interface FulfilmentRow { group: string; orders: number; cancelled: number; cancellation_rate: number | null;
  backordered: number; backorder_rate: number | null; allocated: number; shipped: number; delivered: number;
  split_rate: number | null; on_time_rate: number | null; capture_to_allocation: Times; capture_to_shipment: Times;
  capture_to_delivery: Times }
interface Fulfilment { rows: FulfilmentRow[]; totals: FulfilmentRow }
interface Suggestion { sku: string; location_id: string; supplier_id: string | null; available: number; on_order: number;
  days_of_cover: number | null; reorder_point: number | null; quantity: number; low: boolean; reasons: string[] }

const day = (d: Date) => d.toISOString().slice(0, 10);
const money = (m: Money) => Object.entries(m).map(([c, v]) => `${v} ${c}`).join(", ");
const pct = (r: number | null) => (r === null ? "–" : `${(r * 100).toFixed(1)} %`);
const hours = (t: Times) => (t.count ? `${t.p50_hours ?? "–"} h / ${t.p90_hours ?? "–"} h (${t.count})` : "–");

/** Every day of the range with its value, 0 where the report has no row (it lists only days with orders). */
function everyDay<R extends { group: string }>(from: string, to: string, rows: R[], value: (r: R) => number): { label: string; value: number }[] {
  const by = new Map(rows.map((r) => [r.group, value(r)]));
  const out: { label: string; value: number }[] = [];
  for (let d = new Date(`${from}T00:00:00Z`); day(d) <= to && out.length < 366; d = new Date(d.getTime() + 86_400_000)) {
    out.push({ label: day(d), value: by.get(day(d)) ?? 0 });
  }
  return out;
}

function csvButton(label: string, path: string, filename: string): HTMLElement {
  return h("button", { type: "button", class: "secondary", onclick: () => void downloadCsv(path, filename).catch(showError) }, label);
}

function section(id: string, title: string, ...children: (Node | string)[]): HTMLElement {
  return h("section", { class: "report", "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

export function reportsPage(main: HTMLElement): () => void {
  const today = new Date();
  const from = h("input", { type: "date", name: "from", required: true, value: day(new Date(today.getTime() - 29 * 86_400_000)) });
  const to = h("input", { type: "date", name: "to", required: true, value: day(today) });
  const body = h("div", { id: "report-results" });
  let seq = 0;
  const load = async () => {
    const mine = ++seq;
    const range = { from: from.value, to: to.value };
    const [byDay, byChannel, fulfilment, suggestions] = await Promise.all([
      get<Sales>(`/reports/sales${query({ ...range, group_by: "day" })}`),
      get<Sales>(`/reports/sales${query({ ...range, group_by: "channel" })}`),
      get<Fulfilment>(`/reports/fulfillment${query({ ...range, group_by: "day" })}`),
      get<{ suggestions: Suggestion[] }>(`/replenishment/suggestions${query({ limit: 50 })}`),
    ]);
    if (mine !== seq) return; // a newer range was asked meanwhile
    const t = fulfilment.totals;
    const base = byDay.base_currency;
    const csv = (report: string, group: string) =>
      csvButton(`CSV: ${report} by ${group}`, `/reports/${report}${query({ ...range, group_by: group })}`,
        `${report}-by-${group}-${range.from}-${range.to}.csv`);
    body.replaceChildren(
      section("r-sales-day", "Sales per day",
        barChart(`Orders per day, ${range.from} to ${range.to}`, everyDay(range.from, range.to, byDay.rows, (r: SalesRow) => r.orders), "orders"),
        table("Sales per day", ["Day", "Orders", "Units", "Gross", "Net", `Net (${base})`], byDay.rows.map((r) =>
          [r.group, r.orders, r.units, money(r.gross), money(r.net), r.base?.net ?? "no FX rate"]), "no orders captured"),
        csv("sales", "day")),
      section("r-sales-channel", "Sales by channel",
        barChart(`Units by channel, ${range.from} to ${range.to}`, byChannel.rows.map((r) => ({ label: r.group, value: r.units })), "units"),
        table("Sales by channel", ["Channel", "Orders", "Units", "Gross", "Net", `Net (${base})`], byChannel.rows.map((r) =>
          [r.group, r.orders, r.units, money(r.gross), money(r.net), r.base?.net ?? "no FX rate"]), "no orders captured"),
        csv("sales", "channel")),
      section("r-fulfilment", "Fulfilment",
        h("dl", { class: "summary kpis" },
          ...([["Orders", t.orders], ["Shipped", t.shipped], ["Delivered", t.delivered], ["Cancellation rate", pct(t.cancellation_rate)],
            ["Backorder rate", pct(t.backorder_rate)], ["Split rate", pct(t.split_rate)], ["On time", pct(t.on_time_rate)],
            ["Capture to shipment (p50 / p90)", hours(t.capture_to_shipment)],
            ["Capture to delivery (p50 / p90)", hours(t.capture_to_delivery)]] as [string, string | number][])
            .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])),
        barChart("Orders allocated per capture day", everyDay(range.from, range.to, fulfilment.rows, (r: FulfilmentRow) => r.allocated), "allocated"),
        table("Fulfilment per day", ["Day", "Orders", "Allocated", "Shipped", "Delivered", "Backorder rate", "Capture to shipment"],
          fulfilment.rows.map((r) => [r.group, r.orders, r.allocated, r.shipped, r.delivered, pct(r.backorder_rate), hours(r.capture_to_shipment)]),
          "no orders captured"),
        csv("fulfillment", "day")),
      section("r-stock", "Low stock and replenishment",
        suggestions.suggestions.length ? barChart("Units to order now, per SKU and location (the first 20)",
          suggestions.suggestions.slice(0, 20).map((x) => ({ label: `${x.sku}@${x.location_id}`, value: x.quantity })), "units") : "",
        table("Replenishment suggestions", ["SKU", "Location", "Supplier", "Available", "On order", "Days of cover", "Reorder point", "Order now", "Why"],
          suggestions.suggestions.map((x) => [x.sku + (x.low ? " (low)" : ""), x.location_id, x.supplier_id, x.available, x.on_order,
            x.days_of_cover === null ? "–" : x.days_of_cover.toFixed(1), x.reorder_point, x.quantity, x.reasons.join("; ")]),
          "nothing to order now (the hourly run computes them)")));
  };
  const form = h("form", { class: "filters", "aria-label": "Report period", onsubmit: (e: Event) => {
    e.preventDefault();
    void load().catch(showError);
  } }, field("From (capture day, UTC)", from), field("To", to), h("div", { class: "field" }, h("button", { type: "submit" }, "Show")));
  main.replaceChildren(h("h1", {}, "Reports"), form, body);
  if (!can("reports.read")) {
    body.replaceChildren(h("p", { class: "needs" }, `Reports need the role ${needs("reports.read")}; you are ${roles().join(", ") || "no role"}.`));
    for (const c of form.querySelectorAll<HTMLButtonElement>("button, input")) c.disabled = true;
  } else {
    void load().catch(showError);
  }
  return () => { seq++; };
}
