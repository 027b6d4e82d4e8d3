// Routing: the strategies in force (GET /routing/strategies), a strategy saved as a new version (PUT
// /routing/strategies/{id}, admin only), and a what-if replay (POST /routing/simulations,
// then GET /routing/simulations/{id} until DONE): the candidate set against what really decided the
// period's orders, figures side by side, and a sample of the orders that would have gone otherwise.
import { get, post, request } from "../api";
import { barChart } from "../charts";
import { field, gate, h, select, showError, showNotice, table } from "../ui";

interface Strategy { strategy_id: string; name: string; rank: number; active: boolean; version: number;
  criteria: { kind: string; by?: string; location_ids?: string[] }[]; updated_by: string; conditions?: unknown;
  allow_split?: boolean | null; when_short?: string | null }
interface Written { strategy: Strategy; changed: boolean; notices: { field: string; problem: string }[] }
const DEFAULT_ID = "default"; // the built-in default: read only, it routes whatever no strategy matches

// The body a PUT takes (StrategyRequest): the strategy without its id, version and who saved it.
const editable = (s: Strategy) => ({ name: s.name, rank: s.rank, active: s.active, conditions: s.conditions ?? {},
  criteria: s.criteria, ...(s.allow_split != null ? { allow_split: s.allow_split } : {}),
  ...(s.when_short != null ? { when_short: s.when_short } : {}) });

// Save a strategy: pick one to change (or name a new one), edit its JSON, save it as a new version.
function editor(strategies: Strategy[], saved: () => void): HTMLElement {
  const pick = select("edit-strategy", [["", "A new strategy"], ...strategies.filter((s) => s.strategy_id !== DEFAULT_ID)
    .map((s): [string, string] => [s.strategy_id, `${s.strategy_id} (v${s.version})`])]);
  const id = h("input", { type: "text", name: "strategy_id", required: true, maxlength: 40, placeholder: "e.g. eu-stores-first" });
  const body = h("textarea", { name: "strategy", rows: 8, spellcheck: "false", class: "code" });
  const fill = () => {
    const s = strategies.find((x) => x.strategy_id === pick.value);
    id.value = s?.strategy_id ?? "";
    id.readOnly = !!s;
    body.value = JSON.stringify(s ? editable(s) : { name: "", rank: 100, active: false, criteria: [{ kind: "rank", by: "nearest" }] }, null, 1);
  };
  pick.addEventListener("change", fill);
  fill();
  return h("form", { class: "panel", "aria-labelledby": "edit-title", onsubmit: async (e: Event) => {
    e.preventDefault();
    let strategy: unknown;
    try {
      strategy = JSON.parse(body.value);
    } catch {
      return showError(new Error("The strategy is not JSON (an object: name, rank, active, conditions, criteria)"));
    }
    try {
      const w = await request<Written>("PUT", `/routing/strategies/${encodeURIComponent(id.value.trim())}`, strategy);
      showNotice(`Strategy ${w.strategy.strategy_id}: ${w.changed ? `saved as version ${w.strategy.version}` : "unchanged (the current version)"}` +
        (w.notices.length ? `. Note: ${w.notices.map((n) => `${n.field}: ${n.problem}`).join("; ")}` : ""));
      saved();
    } catch (err) {
      showError(err);
    }
  } }, h("h2", { id: "edit-title" }, "Change a strategy"),
    h("p", { class: "muted" }, "Every save is a new version; orders routed from now on use it. Try it in the replay below first."),
    h("div", { class: "filters" }, field("Strategy", pick), field("Strategy id", id)),
    field("Strategy (JSON: name, rank, active, conditions, criteria, allow_split, when_short)", body),
    h("button", { type: "submit" }, "Save the strategy"));
}
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

  const edit = h("div", {});
  main.replaceChildren(h("h1", {}, "Routing"), list, edit, gate(form, "routing.simulate"), result);
  const load = (first: boolean) => get<{ strategies: Strategy[] }>("/routing/strategies").then(({ strategies }) => {
    if (left) return;
    list.replaceChildren(table(`Strategies in force (${strategies.length})`, ["Strategy", "Name", "Rank", "Active", "Criteria", "Version", "By"],
      strategies.map((s) => [s.strategy_id, s.name, s.rank, s.active ? "yes" : "no", criteria(s), s.version, s.updated_by])));
    edit.replaceChildren(gate(editor(strategies, () => void load(false)), "routing.write"));
    // Sent back as listed: the API ignores version and updated_*, and takes the built-in default unchanged.
    if (first) candidates.value = JSON.stringify(strategies, null, 1);
  }).catch(showError);
  void load(true);
  return () => { left = true; window.clearTimeout(timer); };
}
