// Purchasing: the suppliers (GET /suppliers; one saved with PUT /suppliers/{id}, finance), purchase orders
// by status (GET /purchase-orders), a purchase order placed by hand or from the replenishment suggestions
// (POST /purchase-orders, finance) or cancelled before anything came (finance), and a delivery received
// against one (POST /purchase-orders/{id}/receive: the receiving location's, admin).
import { get, pickableLocations, post, query, request } from "../api";
import { can, needs, roles } from "../auth";
import { badge, field, gate, h, poll, select, showError, showNotice, table, when } from "../ui";

const PO_STATUSES = ["OPEN", "PARTIALLY_RECEIVED", "RECEIVED", "CLOSED", "CANCELLED"];
const RECEIVABLE = new Set(["OPEN", "PARTIALLY_RECEIVED"]);

interface Supplier { supplier_id: string; name: string; lead_time_days: number; skus: string[]; min_order_quantity: number;
  order_multiple: number; active: boolean; version: number }
interface PurchaseOrder { purchase_order_id: string; supplier_id: string; location_id: string; status: string;
  lines: { sku: string; quantity: number; received: number; over_received: number }[]; source: string; expected_at: string;
  note: string | null; over_received: boolean; receipt_count: number }

const label = (s: string) => s.replace(/_/g, " ");

/** "TEE-BLK-M 20, HOODIE-WHT-S 5" → lines; a malformed entry names itself. */
function parseLines(text: string): { sku: string; quantity: number }[] {
  return text.split(",").map((x) => x.trim()).filter(Boolean).map((entry) => {
    const [sku, qty] = entry.split(/\s+/);
    const quantity = Number(qty);
    if (!sku || !Number.isInteger(quantity) || quantity <= 0) throw new Error(`"${entry}": write a SKU and a whole number of units, e.g. TEE-BLK-M 20`);
    return { sku, quantity };
  });
}

export function purchasingPage(main: HTMLElement): () => void {
  if (!can("purchasing.read")) {
    main.replaceChildren(h("h1", {}, "Purchasing"), h("p", { class: "needs" },
      `Purchasing needs the role ${needs("purchasing.read")}; you are ${roles().join(", ") || "no role"}.`));
    return () => {};
  }
  const suppliers = h("div", { id: "supplier-results" });
  const orders = h("div", { id: "po-results" });
  const status = select("po-status", PO_STATUSES.map((s): [string, string] => [s, label(s)]), "OPEN");
  const supplier = select("supplier", []);
  const location = select("po-location", []);
  const lines = h("input", { type: "text", name: "po-lines", placeholder: "TEE-BLK-M 20, HOODIE-WHT-S 5" });
  const fromSuggestions = h("input", { type: "checkbox", name: "from-suggestions", id: "from-suggestions" });
  const note = h("input", { type: "text", name: "po-note", maxlength: 500 });
  const work = h("div", { id: "po-work", "aria-live": "polite" });

  const create = h("form", { class: "panel", "aria-labelledby": "po-new", onsubmit: async (e: Event) => {
    e.preventDefault();
    try {
      const body = { supplier_id: supplier.value, location_id: location.value, ...(note.value ? { note: note.value } : {}),
        ...(fromSuggestions.checked ? { from_suggestions: true } : { lines: parseLines(lines.value) }) };
      const po = await post<PurchaseOrder>("/purchase-orders", body);
      showNotice(`Purchase order ${po.purchase_order_id} placed with ${po.supplier_id}: ${po.lines.length} lines, expected ${when(po.expected_at)}`);
      lines.value = "";
      status.value = po.status;
      await refresh();
    } catch (err) {
      showError(err);
    }
  } }, h("h2", { id: "po-new" }, "Order from a supplier"),
    h("div", { class: "filters" }, field("Supplier", supplier), field("Deliver to", location), field("Lines (SKU units, comma separated)", lines),
      h("div", { class: "field check" }, fromSuggestions, h("label", { for: "from-suggestions" }, "What the suggestions say instead")),
      field("Note", note)),
    h("button", { type: "submit" }, "Place the purchase order"));

  const supplierId = h("input", { type: "text", name: "supplier-id", required: true, maxlength: 64, placeholder: "e.g. acme-tees" });
  const supplierName = h("input", { type: "text", name: "supplier-name", required: true, maxlength: 200 });
  const leadTime = h("input", { type: "number", name: "lead-time", required: true, min: 1, max: 365, value: 14 });
  const skus = h("input", { type: "text", name: "supplier-skus", required: true, placeholder: "TEE-*, HOODIE-BLK-M" });
  const minimum = h("input", { type: "number", name: "min-order", min: 1, value: 1 });
  const saveSupplier = h("form", { class: "panel", "aria-labelledby": "supplier-new", onsubmit: async (e: Event) => {
    e.preventDefault();
    try {
      const saved = await request<Supplier>("PUT", `/suppliers/${encodeURIComponent(supplierId.value.trim())}`, {
        name: supplierName.value.trim(), lead_time_days: Number(leadTime.value), min_order_quantity: Number(minimum.value),
        skus: skus.value.split(",").map((x) => x.trim()).filter(Boolean) });
      showNotice(`Supplier ${saved.supplier_id} saved (version ${saved.version})`);
      supplier.replaceChildren(); // listed again with the new one
      await refresh();
    } catch (err) {
      showError(err);
    }
  } }, h("h2", { id: "supplier-new" }, "Save a supplier (new, or changed by its id)"),
    h("div", { class: "filters" }, field("Supplier id", supplierId), field("Name", supplierName), field("Lead time (days)", leadTime),
      field("SKUs or patterns (comma separated)", skus), field("Minimum units a line", minimum)),
    h("button", { type: "submit" }, "Save the supplier"));

  const cancel = async (po: PurchaseOrder) => {
    const reason = prompt(`Cancel ${po.purchase_order_id}: why?`);
    if (reason === null) return;
    try {
      const answer = await post<{ purchase_order: PurchaseOrder }>(`/purchase-orders/${encodeURIComponent(po.purchase_order_id)}/cancel`,
        reason.trim() ? { reason: reason.trim() } : {});
      showNotice(`${po.purchase_order_id}: cancelled, now ${label(answer.purchase_order.status)}`);
      await refresh();
    } catch (err) {
      showError(err);
    }
  };

  const receiveForm = (po: PurchaseOrder) => {
    const qty = po.lines.map((l) => h("input", { type: "number", min: 0, value: Math.max(0, l.quantity - l.received), name: `po-receive-${l.sku}` }));
    const last = h("input", { type: "checkbox", name: "final", id: "po-final" });
    work.replaceChildren(gate(h("form", { class: "panel", "aria-labelledby": "po-receive", onsubmit: async (e: Event) => {
      e.preventDefault();
      try {
        const got = po.lines.map((l, i) => ({ sku: l.sku, quantity: Number(qty[i].value) })).filter((l) => l.quantity > 0);
        const answer = await post<{ purchase_order: PurchaseOrder; duplicate: boolean }>(
          `/purchase-orders/${encodeURIComponent(po.purchase_order_id)}/receive`,
          { receipt_id: `console-${Date.now()}`, lines: got, final: last.checked });
        showNotice(`${po.purchase_order_id}: received, now ${label(answer.purchase_order.status)}`);
        work.replaceChildren();
        status.value = answer.purchase_order.status;
        await refresh();
      } catch (err) {
        showError(err);
      }
    } }, h("h2", { id: "po-receive" }, `Receive a delivery of ${po.purchase_order_id} at ${po.location_id}`),
      h("div", { class: "filters" }, ...po.lines.map((l, i) => field(`Units of ${l.sku} received (${l.received} of ${l.quantity} so far)`, qty[i])),
        h("div", { class: "field check" }, last, h("label", { for: "po-final" }, "The last delivery (close the order)"))),
      h("button", { type: "submit" }, "Receive into stock")), "purchasing.receive"));
  };

  let seq = 0;
  const refresh = async () => {
    const mine = ++seq;
    const [s, page] = await Promise.all([get<{ suppliers: Supplier[] }>("/suppliers"),
      get<{ purchase_orders: PurchaseOrder[] }>(`/purchase-orders${query({ status: status.value, limit: 200 })}`)]);
    if (mine !== seq) return;
    suppliers.replaceChildren(table(`Suppliers (${s.suppliers.length})`, ["Supplier", "Name", "Lead time (days)", "SKUs", "Min. / multiple", "Active"],
      s.suppliers.map((x) => [x.supplier_id, x.name, x.lead_time_days, x.skus.join(", "), `${x.min_order_quantity} / ${x.order_multiple}`,
        x.active ? "yes" : "no"]), "none yet (PUT /suppliers/{id})"));
    if (!supplier.options.length) for (const x of s.suppliers.filter((x) => x.active)) supplier.append(h("option", { value: x.supplier_id }, x.supplier_id));
    orders.replaceChildren(table(`Purchase orders ${label(status.value)} (${page.purchase_orders.length})`,
      ["Purchase order", "Supplier", "Deliver to", "Status", "Lines", "Expected", "Source", ""],
      page.purchase_orders.map((po) => [po.purchase_order_id, po.supplier_id, po.location_id, badge(po.status),
        po.lines.map((l) => `${l.sku} ${l.received}/${l.quantity}`).join(", ") + (po.over_received ? " (over-received)" : ""),
        when(po.expected_at), po.source,
        RECEIVABLE.has(po.status) ? h("span", { class: "actions" },
          gate(h("button", { type: "button", class: "secondary", "aria-label": `Receive ${po.purchase_order_id}`,
            onclick: () => receiveForm(po) }, "Receive…"), "purchasing.receive"),
          po.receipt_count === 0 ? gate(h("button", { type: "button", class: "secondary", "aria-label": `Cancel ${po.purchase_order_id}`,
            onclick: () => void cancel(po) }, "Cancel…"), "purchasing.write") : "") : ""]), "none"));
  };
  status.addEventListener("change", () => void refresh());

  main.replaceChildren(h("h1", {}, "Purchasing"), suppliers, gate(saveSupplier, "purchasing.write"), gate(create, "purchasing.write"),
    h("form", { class: "filters", "aria-label": "Filter purchase orders", onsubmit: (e: Event) => { e.preventDefault(); void refresh(); } },
      field("Purchase order status", status)), orders, work);
  void pickableLocations().then((list) => {
    for (const l of list) location.append(h("option", { value: l.location_id }, `${l.location_id} (${l.name})`));
  }).catch(showError);
  return poll(refresh, 10000);
}
