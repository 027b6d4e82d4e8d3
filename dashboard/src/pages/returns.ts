// Returns: the RMAs in a status (GET /returns?status=), refreshed, and one return (#/returns/<rma>) taken
// through its steps: approve or decline (customer service), receive units per line with their condition
// and what becomes of them (restock or write off), refund what was received (finance), close.
// The API decides each step (shared/domain/returns.py TRANSITIONS); a refusal shows in the banner.
import { get, pickableLocations, post, query } from "../api";
import { badge, field, gate, h, poll, select, showError, showNotice, table, when } from "../ui";

export const RETURN_STATUSES = ["REQUESTED", "APPROVED", "IN_TRANSIT", "RECEIVED", "INSPECTED", "REFUNDED", "EXCHANGED",
  "DECLINED", "CLOSED"];
const CONDITIONS = ["new", "opened", "damaged", "defective", "missing_parts", "wrong_item"];
// Which steps a status offers (mirrors TRANSITIONS, RECEIVABLE and REFUNDABLE; the API still decides).
const RECEIVABLE = new Set(["APPROVED", "IN_TRANSIT", "RECEIVED"]);
const REFUNDABLE = new Set(["RECEIVED", "INSPECTED", "REFUNDED", "EXCHANGED", "CLOSED"]);
const CLOSABLE = new Set(["APPROVED", "IN_TRANSIT", "RECEIVED", "INSPECTED", "REFUNDED", "EXCHANGED"]);

interface ReturnLine { line: number; sku: string; quantity: number; received: number; restocked: number; written_off: number;
  refunded: number }
export interface Rma { rma_id: string; order_id: string; channel: string; customer_id: string; status: string; reason: string;
  comment: string | null; lines: ReturnLine[]; refund_method: string; value: string; currency: string; location_id: string | null;
  merchant_pays_shipping: boolean; decision_note: string | null; label_url?: string | null; created_at: string; updated_at: string;
  version: number; history: { status: string; at: string; by: string; note: string | null }[];
  refunds: { state: string; amount?: string; method?: string }[] }

const label = (s: string) => s.replace(/_/g, " ");

export function returnsPage(main: HTMLElement): () => void {
  const status = select("status", RETURN_STATUSES.map((s): [string, string] => [s, label(s)]), "REQUESTED");
  const results = h("div", { id: "return-results" });
  const form = h("form", { class: "filters", "aria-label": "Filter returns", onsubmit: (e: Event) => { e.preventDefault(); void refresh(); } },
    field("Status", status));
  status.addEventListener("change", () => void refresh());
  main.replaceChildren(h("h1", {}, "Returns"), form, results);
  let seq = 0;
  const refresh = async () => {
    const mine = ++seq;
    const page = await get<{ returns: Rma[] }>(`/returns${query({ status: status.value, limit: 200 })}`);
    if (mine !== seq) return; // an older answer never overwrites a newer filter's
    results.replaceChildren(table(`Returns ${label(status.value)} (${page.returns.length})`,
      ["RMA", "Order", "Status", "Reason", "Units", "Value", "Refund to", "Requested"],
      page.returns.map((r) => [
        h("a", { href: `#/returns/${encodeURIComponent(r.rma_id)}` }, r.rma_id),
        h("a", { href: `#/orders/${encodeURIComponent(r.order_id)}` }, r.order_id),
        badge(r.status), label(r.reason), r.lines.map((l) => `${l.sku} ×${l.quantity}`).join(", "),
        `${r.value} ${r.currency}`, label(r.refund_method), when(r.created_at)]), "none"));
  };
  return poll(refresh, 5000);
}

function details(r: Rma): HTMLElement {
  return h("div", { class: "sections" },
    h("section", { "aria-labelledby": "r-summary" }, h("h2", { id: "r-summary" }, "Summary"),
      h("dl", { class: "summary" },
        h("dt", {}, "Status"), h("dd", {}, badge(r.status)),
        h("dt", {}, "Order"), h("dd", {}, h("a", { href: `#/orders/${encodeURIComponent(r.order_id)}` }, r.order_id), ` (${r.channel})`),
        h("dt", {}, "Reason"), h("dd", {}, label(r.reason), r.comment ? `: ${r.comment}` : ""),
        h("dt", {}, "Value"), h("dd", {}, `${r.value} ${r.currency}`),
        h("dt", {}, "Refund to"), h("dd", {}, label(r.refund_method)),
        h("dt", {}, "Back to"), h("dd", {}, r.location_id ?? "chosen at approval"),
        h("dt", {}, "Return label"), h("dd", {}, r.label_url ? h("a", { href: r.label_url, target: "_blank", rel: "noopener" }, "Print return label")
          : r.merchant_pays_shipping ? "none yet" : "the customer sends it"),
        r.decision_note ? h("dt", {}, "Note") : null, r.decision_note ? h("dd", {}, r.decision_note) : null)),
    h("section", { "aria-labelledby": "r-lines" }, h("h2", { id: "r-lines" }, "Lines"),
      table("Return lines", ["Line", "SKU", "Units", "Received", "Restocked", "Written off", "Refunded"],
        r.lines.map((l) => [l.line, l.sku, l.quantity, l.received, l.restocked, l.written_off, l.refunded]))),
    h("section", { "aria-labelledby": "r-time" }, h("h2", { id: "r-time" }, "Timeline"),
      h("ol", { class: "timeline" }, ...r.history.map((e) => h("li", {},
        h("time", { datetime: e.at }, when(e.at)), " ", badge(e.status), e.note ? ` ${e.note}` : "", h("em", {}, ` by ${e.by}`))))));
}

function actions(r: Rma, locations: { location_id: string; name: string }[], reload: () => Promise<void>): HTMLElement {
  const id = encodeURIComponent(r.rma_id);
  const act = async (text: string, step: string, body?: unknown) => {
    try {
      const now = await post<Rma>(`/returns/${id}/${step}`, body);
      showNotice(`${r.rma_id}: ${text}, now ${label(now.status)}`);
      await reload();
    } catch (e) {
      showError(e);
    }
  };
  const box = h("section", { class: "actions", "aria-labelledby": "r-actions" }, h("h2", { id: "r-actions" }, "Actions"));
  if (r.status === "REQUESTED") {
    const note = h("input", { type: "text", name: "decision-note", maxlength: 500 });
    const decide = (step: string, text: string) => (e: Event) => {
      e.preventDefault();
      void act(text, step, note.value ? { note: note.value } : undefined);
    };
    box.append(gate(h("form", { class: "inline", "aria-label": "Decide the return", onsubmit: decide("approve", "approved") },
      field("Decision note", note), h("button", { type: "submit" }, "Approve"),
      h("button", { type: "button", class: "danger", onclick: decide("decline", "declined") }, "Decline")), "return.write"));
  }
  if (RECEIVABLE.has(r.status)) box.append(gate(receiveForm(r, locations, act), "return.write"));
  if (REFUNDABLE.has(r.status) && r.lines.some((l) => l.received > l.refunded)) {
    const method = select("refund-method", [["", `As asked (${label(r.refund_method)})`], ["original_payment", "Original payment"],
      ["store_credit", "Store credit"]]);
    box.append(gate(h("form", { class: "inline", "aria-label": "Refund", onsubmit: (e: Event) => {
      e.preventDefault();
      void act("refunded", "refund", method.value ? { method: method.value } : undefined);
    } }, field("Refund method", method), h("button", { type: "submit" }, "Refund what was received")), "return.refund"));
  }
  if (CLOSABLE.has(r.status)) {
    const note = h("input", { type: "text", name: "close-note", maxlength: 500 });
    box.append(gate(h("form", { class: "inline", "aria-label": "Close the return", onsubmit: (e: Event) => {
      e.preventDefault();
      void act("closed", "close", note.value ? { note: note.value } : undefined);
    } }, field("Close note", note), h("button", { type: "submit", class: "secondary" }, "Close")), "return.write"));
  }
  if (box.children.length === 1) box.append(h("p", { class: "muted" }, `No action for a return that is ${label(r.status).toLowerCase()}.`));
  return box;
}

// POST /returns/{rma}/receive (ReceiveBody): units per line still awaited, their condition and disposition.
function receiveForm(r: Rma, locations: { location_id: string; name: string }[],
  act: (text: string, step: string, body?: unknown) => Promise<void>): HTMLElement {
  const awaited = r.lines.filter((l) => l.received < l.quantity);
  const rows = awaited.map((l) => ({
    line: l,
    qty: h("input", { type: "number", min: 0, max: l.quantity - l.received, value: l.quantity - l.received, name: `receive-${l.line}` }),
    condition: select(`condition-${l.line}`, CONDITIONS.map((c): [string, string] => [c, label(c)]), "new"),
    disposition: select(`disposition-${l.line}`, [["restock", "Restock"], ["write_off", "Write off"]]),
    note: h("input", { type: "text", name: `receive-note-${l.line}`, maxlength: 500 }),
  }));
  const where = select("receive-location", [["", `The return's (${r.location_id ?? "none"})`],
    ...locations.map((l): [string, string] => [l.location_id, `${l.location_id} (${l.name})`])]);
  return h("form", { class: "inline", "aria-label": "Receive units", onsubmit: (e: Event) => {
    e.preventDefault();
    const lines = rows.filter((x) => Number(x.qty.value) > 0).map((x) => ({ sku: x.line.sku, line: x.line.line,
      quantity: Number(x.qty.value), condition: x.condition.value, disposition: x.disposition.value,
      ...(x.note.value ? { note: x.note.value } : {}) }));
    if (!lines.length) return showError(new Error("Choose how many units of which line came back"));
    void act("received", "receive", { receipt_id: `console-${Date.now()}`, lines, ...(where.value ? { location_id: where.value } : {}) });
  } }, ...rows.flatMap((x) => [field(`Received units of ${x.line.sku}`, x.qty), field(`Condition of ${x.line.sku}`, x.condition),
    field(`What becomes of ${x.line.sku}`, x.disposition), field(`Write-off reason for ${x.line.sku}`, x.note)]),
  field("Received at", where), h("button", { type: "submit" }, "Receive"));
}

export function returnPage(main: HTMLElement, rmaId: string): () => void {
  const body = h("div", {});
  const actionBox = h("div", {});
  main.replaceChildren(h("p", {}, h("a", { href: "#/returns" }, "← Returns")), h("h1", {}, `Return ${rmaId}`), actionBox, body);
  let locations: { location_id: string; name: string }[] = [];
  void pickableLocations().then((l) => { locations = l; }).catch(() => undefined); // the return's own location still works
  let shown = "";
  const load = async () => {
    const r = await get<Rma>(`/returns/${encodeURIComponent(rmaId)}`);
    const key = `${r.version}|${r.status}`;
    if (key === shown) return; // nothing moved: forms being filled in stay
    shown = key;
    body.replaceChildren(details(r));
    actionBox.replaceChildren(actions(r, locations, () => { shown = ""; return load(); }));
  };
  return poll(load, 4000);
}
