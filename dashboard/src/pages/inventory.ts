// Inventory: levels per SKU and location (low stock marked), adjustments and a CSV import.
// The API reads stock per SKU (GET /inventory/{sku}), so the page shows the SKUs asked for here,
// seeded from the lines of recent orders.
import { ApiError, get, pickableLocations, post, request } from "../api";
import { field, h, poll, select, showError, showNotice, table, when, gate } from "../ui";
import type { OrderSummary } from "./orders";

interface Level { sku: string; location_id: string; on_hand: number; reserved: number; safety_stock: number; available: number;
  low_stock_threshold: number | null; updated_at: string }
interface Outcome { adjustment_id: string; outcome: string; level: Level | null; error: { field: string; problem: string } | null }

const SKUS = "oms-console-skus";
export const REASONS = ["received", "returned", "damaged", "lost", "found", "count_correction", "other"];

export function isLow(l: Level): boolean {
  return l.low_stock_threshold !== null && l.available <= l.low_stock_threshold;
}

async function seedSkus(): Promise<string[]> {
  const saved = localStorage.getItem(SKUS);
  if (saved) return saved.split(",").filter(Boolean);
  const page = await get<{ orders: (OrderSummary & { request: { lines: { sku: string }[] } })[] }>("/orders?limit=200");
  return [...new Set(page.orders.flatMap((o) => o.request.lines.map((l) => l.sku)))].sort().slice(0, 30);
}

export function inventoryPage(main: HTMLElement): () => void {
  let skus: string[] = [];
  const skuInput = h("input", { type: "text", name: "skus", placeholder: "TEE-BLK-M, HOODIE-WHT-L" });
  const levels = h("div", { id: "levels" });
  const refreshed = h("p", { class: "muted", "aria-live": "polite" });

  const refresh = async () => {
    if (!skus.length) {
      levels.replaceChildren(h("p", { class: "empty" }, "Name the SKUs to show above."));
      return;
    }
    const answers = await Promise.all(skus.map((sku) => get<{ locations: Level[] }>(`/inventory/${encodeURIComponent(sku)}`)
      .catch((e) => { if (e instanceof ApiError && e.status === 404) return { locations: [] as Level[] }; throw e; })));
    const rows = answers.flatMap((a) => a.locations).map((l) => [
      l.sku, l.location_id, l.on_hand, l.reserved, l.safety_stock, l.available, l.low_stock_threshold ?? "",
      isLow(l) ? h("span", { class: "badge low" }, "LOW") : h("span", { class: "badge ok" }, "ok"), when(l.updated_at)]);
    levels.replaceChildren(table("Stock levels", ["SKU", "Location", "On hand", "Reserved", "Safety", "Available", "Low at", "Stock", "Updated"], rows, "no stock recorded for these SKUs"));
    refreshed.textContent = `Refreshed ${new Date().toLocaleTimeString()}`;
  };

  const show = h("form", { class: "filters", "aria-label": "Choose SKUs", onsubmit: (e: Event) => {
    e.preventDefault();
    skus = [...new Set(skuInput.value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean))];
    localStorage.setItem(SKUS, skus.join(","));
    void refresh().catch(showError);
  } }, field("SKUs (comma separated)", skuInput), h("div", { class: "field" }, h("button", { type: "submit" }, "Show")));

  // Adjust stock by a delta (POST /inventory/adjustments: one adjustment, its own id).
  const adjSku = h("input", { type: "text", name: "sku", required: true, autocomplete: "off" });
  const adjLocation = select("location_id", []);
  adjLocation.required = true;
  const adjDelta = h("input", { type: "number", name: "delta", required: true, step: 1 });
  const adjReason = select("reason", REASONS.map((r): [string, string] => [r, r.replace(/_/g, " ")]), "count_correction");
  const adjNote = h("input", { type: "text", name: "note", maxlength: 500 });
  const adjust = h("form", { class: "panel", "aria-labelledby": "adjust-title", onsubmit: async (e: Event) => {
    e.preventDefault();
    const adjustment = { adjustment_id: `console-${Date.now()}`, sku: adjSku.value.trim(), location_id: adjLocation.value,
      delta: Number(adjDelta.value), reason: adjReason.value, ...(adjNote.value ? { note: adjNote.value } : {}) };
    try {
      const [outcome] = await post<Outcome[]>("/inventory/adjustments", { adjustments: [adjustment] });
      showNotice(`Adjusted ${adjustment.sku} at ${adjustment.location_id}: on hand now ${outcome.level?.on_hand}`);
      if (!skus.includes(adjustment.sku)) {
        skus.push(adjustment.sku);
        skuInput.value = skus.join(", ");
        localStorage.setItem(SKUS, skus.join(","));
      }
      await refresh();
    } catch (err) {
      // A rejected adjustment answers 422 with the outcome naming the field and the problem.
      const outcome = err instanceof ApiError && Array.isArray(err.body) ? (err.body[0] as Outcome) : null;
      showError(outcome?.error ? new ApiError(422, outcome.error.problem, "rejected", outcome.error.field) : err);
    }
  } }, h("h2", { id: "adjust-title" }, "Adjust stock"), field("SKU", adjSku), field("Location", adjLocation),
    field("Change (+ or −)", adjDelta), field("Reason", adjReason), field("Note", adjNote),
    h("button", { type: "submit" }, "Apply adjustment"));

  // CSV import (POST /inventory/import): good rows applied, bad rows listed with their line.
  const csv = h("textarea", { name: "csv", rows: 5, placeholder: "sku,location_id,on_hand,safety_stock" });
  const importResult = h("div", { "aria-live": "polite" });
  const importForm = h("form", { class: "panel", "aria-labelledby": "import-title", onsubmit: async (e: Event) => {
    e.preventDefault();
    try {
      const answer = await request<{ imported: number; errors: { row: number; field: string; problem: string }[] }>(
        "POST", "/inventory/import", csv.value, "text/csv");
      importResult.replaceChildren(h("p", {}, `Imported ${answer.imported} rows.`),
        table("Rows not imported", ["Row", "Field", "Problem"], answer.errors.map((x) => [x.row, x.field, x.problem]), "none"));
      await refresh();
    } catch (err) {
      showError(err);
    }
  } }, h("h2", { id: "import-title" }, "Import stock (CSV)"), field("Rows: sku,location_id,on_hand[,safety_stock]", csv),
    h("button", { type: "submit" }, "Import"), importResult);

  main.replaceChildren(h("h1", {}, "Inventory"), show, refreshed, levels, h("div", { class: "two" }, gate(adjust, "stock.write"), gate(importForm, "stock.import")));
  void pickableLocations().then((locations) => {
    for (const l of locations) adjLocation.append(h("option", { value: l.location_id }, `${l.location_id} (${l.name})`));
  }).catch(showError);
  let stop = () => {};
  let left = false;
  void seedSkus().then((found) => {
    skus = found;
    skuInput.value = skus.join(", ");
    if (!left) stop = poll(refresh, 5000);
  }).catch(showError);
  return () => { left = true; stop(); };
}
