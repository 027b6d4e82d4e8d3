// Routing: the strategies in force (GET /routing/strategies) and a what-if replay (POST /routing/simulations,
// then GET /routing/simulations/{id} until DONE): the candidate set against what really decided the
// period's orders, figures side by side, and a sample of the orders that would have gone otherwise.
import { get, post } from "../api";
import { barChart } from "../charts";
import { field, gate, h, showError, showNotice, table } from "../ui";

interface Strategy { strategy_id: string; name: string; rank: number; active: boolean; version: number;
  criteria: { kind: string; by?: string; location_ids?: string[] }[]; updated_by: string }
interface Figures { orders: number; planned: number; parcels: number; parcels_per_order: number | null; split_rate: number | null;
  distance_km: { total: number; average: number | null }; cost: { currency: string; total: string; unknown: number };
  co2e_kg: { total: string }; promised_by: { share: number | null }; backordered: number; partially_filled: number; held: number }
interface Decision { strategy_id: string; strategy_version: number; locations: string[]; unfilled: { sku: string; quantity: number }[];
  hold: boolean; reasons: string[] }
interface Simulation { simulation_id: string; status: "QUEUED" | "RUNNING" | "DONE" | "FAILED"; error: string | null;
  progress: { orders_done: number; orders_estimated: number | null; fraction: number };
  result: { orders: { read: number; replayed: number; changed: number; locations_changed: number };
    baseline: Figures; candidate: Figures;
    sample: { order_id: string; routed_at: string; baseline: Decision; candidate: Decision }[] } | null }

const day = (d: Date) => d.toISOString().slice(0, 10);
const criteria = (s: Strategy) => s.criteria.map((c) => c.by ?? `${c.kind}${c.location_ids ? ` ${c.location_ids.join(", ")}` : ""}`).join(" → ");
const rate = (r: number | null) => (r === null ? "–" : `${(r * 100).toFixed(1)} %`);
const plan = (d: Decision) => d.hold ? "held" : [d.locations.join(" + ") || "nothing planned",
  d.unfilled.length ? `waits: ${d.unfilled.map((u) => `${u.sku} ×${u.quantity}`).join(", ")}` : ""].filter(Boolean).join("; ");

function sideBySide(result: NonNullable<Simulation["result"]>): HTMLElement {
  const { baseline: b, candidate: c, orders } = result;
  const rows: [string, (f: Figures) => string | number][] = [
    ["Orders planned", (f) => f.planned], ["Parcels", (f) => f.parcels], ["Parcels per order", (f) => f.parcels_per_order ?? "–"],
    ["Split rate", (f) => rate(f.split_rate)], ["Distance (km, total)", (f) => f.distance_km.total],
    ["Cost (total)", (f) => `${f.cost.total} ${f.cost.currency}${f.cost.unknown ? ` (${f.cost.unknown} unknown)` : ""}`],
    ["CO2e (kg)", (f) => f.co2e_kg.total], ["Promise can be met", (f) => rate(f.promised_by.share)],
    ["Backordered", (f) => f.backordered], ["Partially filled", (f) => f.partially_filled], ["Held", (f) => f.held]];
  return h("div", { id: "simulation-result" },
    h("p", {}, `${orders.read} orders read, ${orders.replayed} replayed, ${orders.changed} would change (${orders.locations_changed} to other locations).`),
    barChart("Parcels: baseline and candidate", [{ label: "baseline", value: b.parcels }, { label: "candidate", value: c.parcels }], "parcels"),
    table("Baseline and candidate", ["Figure", "Baseline (what decided)", "Candidate"], rows.map(([k, f]) => [k, String(f(b)), String(f(c))])),
    table("Changed orders (sample)", ["Order", "Routed", "Baseline", "Candidate", "Candidate's reasons"], result.sample.map((s) => [
      h("a", { href: `#/orders/${encodeURIComponent(s.order_id)}` }, s.order_id), s.routed_at.slice(0, 19).replace("T", " "),
      `${plan(s.baseline)} (${s.baseline.strategy_id} v${s.baseline.strategy_version})`, `${plan(s.candidate)} (${s.candidate.strategy_id})`,
      s.candidate.reasons.join("; ")]), "no order would change"));
}

export function routingPage(main: HTMLElement): () => void {
  const list = h("div", { id: "strategy-results" });
  const today = new Date();
  const from = h("input", { type: "date", name: "from", required: true, value: day(new Date(today.getTime() - 6 * 86_400_000)) });
  const to = h("input", { type: "date", name: "to", required: true, value: day(today) });
  const sample = h("input", { type: "number", name: "sample_size", min: 0, max: 50, value: 10 });
  const candidates = h("textarea", { name: "strategies", rows: 10, spellcheck: "false", class: "code" });
  const progress = h("p", { class: "muted", "aria-live": "polite" });
  const result = h("div", {});
  let left = false;
  let timer: number | undefined;

  const follow = async (id: string) => {
    const sim = await get<Simulation>(`/routing/simulations/${encodeURIComponent(id)}`);
    if (left) return;
    progress.textContent = `Simulation ${sim.simulation_id}: ${sim.status}, ${sim.progress.orders_done} orders replayed` +
      (sim.progress.orders_estimated ? ` of about ${sim.progress.orders_estimated}` : "");
    if (sim.status === "DONE" && sim.result) result.replaceChildren(sideBySide(sim.result));
    else if (sim.status === "FAILED") showError(new Error(`The simulation failed: ${sim.error ?? "no reason given"}`));
    else timer = window.setTimeout(() => void follow(id).catch(showError), 1000);
  };
  const form = h("form", { class: "panel", "aria-labelledby": "whatif-title", onsubmit: async (e: Event) => {
    e.preventDefault();
    let strategies: unknown;
    try {
      strategies = JSON.parse(candidates.value);
    } catch {
      return showError(new Error("The candidate strategies are not JSON (a list of strategies)"));
    }
    try {
      result.replaceChildren();
      const sim = await post<Simulation>("/routing/simulations",
        { strategies, from: from.value, to: to.value, sample_size: Number(sample.value) });
      showNotice(`Simulation ${sim.simulation_id} started`);
      await follow(sim.simulation_id);
    } catch (err) {
      showError(err);
    }
  } }, h("h2", { id: "whatif-title" }, "What if: replay a period with other strategies"),
    h("p", { class: "muted" }, "The candidate set replaces the strategies in force for the replay: edit one and compare. Nothing is changed."),
    h("div", { class: "filters" }, field("From (UTC day)", from), field("To", to), field("Changed orders to show", sample)),
    field("Candidate strategies (JSON, as GET /routing/strategies lists them)", candidates),
    h("button", { type: "submit" }, "Run the replay"), progress);

  main.replaceChildren(h("h1", {}, "Routing"), list, gate(form, "routing.simulate"), result);
  void get<{ strategies: Strategy[] }>("/routing/strategies").then(({ strategies }) => {
    if (left) return;
    list.replaceChildren(table(`Strategies in force (${strategies.length})`, ["Strategy", "Name", "Rank", "Active", "Criteria", "Version", "By"],
      strategies.map((s) => [s.strategy_id, s.name, s.rank, s.active ? "yes" : "no", criteria(s), s.version, s.updated_by])));
    // Sent back as listed: the API ignores version and updated_*, and takes the built-in default unchanged.
    candidates.value = JSON.stringify(strategies, null, 1);
  }).catch(showError);
  return () => { left = true; window.clearTimeout(timer); };
}
