// Fulfilment: a location's fulfilment orders by status (GET /locations/{id}/fulfillment-orders), refreshed,
// and the location's steps on each: accept or reject, pick, pack, then ship with a bought label (its PDF
// to print) or, for a store pickup, ready for pickup and collect with the customer's code.
import { get, pickableLocations, post, query } from "../api";
import { badge, field, gate, h, poll, select, showError, showNotice, table, when } from "../ui";

const STATUSES = ["OPEN", "ACCEPTED", "PICKED", "PACKED", "PARTIALLY_SHIPPED", "SHIPPED", "READY_FOR_PICKUP", "COLLECTED",
  "REJECTED", "CANCELLED"];

interface FulfillmentOrder { fulfillment_order_id: string; order_id: string; channel: string; status: string; pickup: boolean;
  lines: { sku: string; quantity: number; shipped: number }[]; customer_name: string | null; promised_by: string | null;
  created_at: string }
interface ShipAnswer extends FulfillmentOrder { shipment: { shipment_id: string; carrier: string | null; service: string | null;
  tracking_code: string | null; tracking_url: string | null; label_url: string | null } }

// Which steps a status offers (mirrors shared/domain/fulfillment.py's rules; the API still decides and
// a refusal shows in the banner). "ship", "collect" and "reject" open a form below the list.
export function offered(f: Pick<FulfillmentOrder, "status" | "pickup">): string[] {
  const next: Record<string, string[]> = {
    OPEN: ["accept", "reject"], ACCEPTED: ["pick", "reject"], PICKED: ["pack"], PACKED: [], PARTIALLY_SHIPPED: [],
  };
  const steps = [...(next[f.status] ?? [])];
  if (f.pickup) {
    if (["OPEN", "ACCEPTED", "PICKED", "PACKED"].includes(f.status)) steps.push("ready");
    if (f.status === "READY_FOR_PICKUP") steps.push("collect");
  } else if (["PACKED", "PARTIALLY_SHIPPED"].includes(f.status)) {
    steps.push("ship");
  }
  return steps;
}

const LABELS: Record<string, string> = { accept: "Accept", reject: "Reject…", pick: "Picked", pack: "Packed", ship: "Ship…",
  ready: "Ready for pickup", collect: "Collect…" };

export function fulfilmentPage(main: HTMLElement): () => void {
  const location = select("location", []);
  const status = select("status", STATUSES.map((s): [string, string] => [s, s.replace(/_/g, " ")]), "OPEN");
  const results = h("div", { id: "fo-results" });
  const work = h("div", { id: "fo-work", "aria-live": "polite" });

  // After a step the list follows the fulfilment order into its new status.
  const moved = async (f: FulfillmentOrder, text: string) => {
    showNotice(`${f.fulfillment_order_id}: ${text}, now ${f.status.replace(/_/g, " ")}`);
    status.value = f.status;
    await refresh();
  };
  const path = (f: FulfillmentOrder, step: string) => `/fulfillment-orders/${encodeURIComponent(f.fulfillment_order_id)}/${step}`;
  const run = (button: HTMLButtonElement, call: () => Promise<void>) => async (e: Event) => {
    e.preventDefault();
    button.disabled = true;
    try {
      await call();
    } catch (err) {
      showError(err);
    } finally {
      button.disabled = false;
    }
  };

  const shipForm = (f: FulfillmentOrder) => {
    const num = (name: string, value: string, step = "0.1") => h("input", { type: "number", name, value, min: step, step, required: true });
    const weight = num("weight_grams", "500", "1");
    const [length, width, height] = [num("length_cm", "30"), num("width_cm", "20"), num("height_cm", "10")];
    const service = select("service", [["cheapest", "cheapest"], ["fastest", "fastest"]], "cheapest");
    const submit = h("button", { type: "submit" }, "Buy label and ship");
    const shipped = h("div", { class: "shipped" });
    const form = h("form", { class: "panel", "aria-labelledby": "ship-title" },
      h("h2", { id: "ship-title" }, `Ship ${f.fulfillment_order_id}`),
      h("p", { class: "muted" }, f.lines.map((l) => `${l.sku} ×${l.quantity - l.shipped}`).join(", ")),
      field("Weight (g)", weight), field("Length (cm)", length), field("Width (cm)", width), field("Height (cm)", height),
      field("Service", service), submit, shipped);
    form.addEventListener("submit", run(submit, async () => {
      const answer = await post<ShipAnswer>(path(f, "ship"), { shipment_id: `console-${Date.now()}`, label: {
        parcel: { weight_grams: Number(weight.value), length_cm: length.value, width_cm: width.value, height_cm: height.value },
        service: service.value, format: "PDF" } });
      const s = answer.shipment;
      // The label link is presigned for 15 minutes: print it now (the answer is the one place a warehouse
      // person gets it; GET /shipments is the office's).
      shipped.replaceChildren(h("p", {}, `Shipped with ${s.carrier ?? "?"} ${s.service ?? ""}, tracking `,
        s.tracking_url ? h("a", { href: s.tracking_url, target: "_blank", rel: "noopener" }, s.tracking_code ?? "") : s.tracking_code ?? ""),
        s.label_url ? h("a", { href: s.label_url, target: "_blank", rel: "noopener", class: "print" }, "Print label (PDF)") : "no label link");
      submit.remove();
      await moved(answer, "shipped");
    }));
    return form;
  };

  const collectForm = (f: FulfillmentOrder) => {
    const code = h("input", { type: "text", name: "pickup_code", inputmode: "numeric", pattern: "[0-9]{6}", maxlength: 6, required: true,
      autocomplete: "off" });
    const submit = h("button", { type: "submit" }, "Hand over");
    const form = h("form", { class: "panel", "aria-labelledby": "collect-title" },
      h("h2", { id: "collect-title" }, `Collect ${f.fulfillment_order_id}`),
      field("Pickup code (the customer shows it)", code), submit);
    form.addEventListener("submit", run(submit, async () => {
      await moved(await post<FulfillmentOrder>(path(f, "collect"), { pickup_code: code.value.trim() }), "collected");
      work.replaceChildren();
    }));
    return form;
  };

  const rejectForm = (f: FulfillmentOrder) => {
    const reason = h("input", { type: "text", name: "reason", maxlength: 500, required: true });
    const submit = h("button", { type: "submit", class: "danger" }, "Reject");
    const form = h("form", { class: "panel", "aria-labelledby": "reject-title" },
      h("h2", { id: "reject-title" }, `Reject ${f.fulfillment_order_id}`),
      h("p", { class: "muted" }, "It is routed to the next best location, or back to backorder."),
      field("Why this location cannot fulfil it", reason), submit);
    form.addEventListener("submit", run(submit, async () => {
      await moved(await post<FulfillmentOrder>(path(f, "reject"), { reason: reason.value.trim() }), "rejected");
      work.replaceChildren();
    }));
    return form;
  };

  const actions = (f: FulfillmentOrder) => !offered(f).length ? "" : h("span", { class: "actions" }, ...offered(f).map((step) => {
    const button = h("button", { type: "button", class: step === "reject" ? "secondary" : "",
      "aria-label": `${LABELS[step].replace("…", "")} ${f.fulfillment_order_id}` }, LABELS[step]);
    button.addEventListener("click", run(button, async () => {
      if (step === "ship" || step === "collect" || step === "reject") {
        const form = step === "ship" ? shipForm(f) : step === "collect" ? collectForm(f) : rejectForm(f);
        work.replaceChildren(form);
        form.querySelector("input")?.focus();
        return;
      }
      await moved(await post<FulfillmentOrder>(path(f, step)), LABELS[step].toLowerCase());
    }));
    return gate(button, "fulfilment.write");
  }));

  const refresh = async () => {
    if (!location.value) return;
    const page = await get<{ fulfillment_orders: FulfillmentOrder[] }>(
      `/locations/${encodeURIComponent(location.value)}/fulfillment-orders${query({ status: status.value })}`);
    results.replaceChildren(table(`Fulfilment orders at ${location.value} (${page.fulfillment_orders.length})`,
      ["Fulfilment order", "Order", "Status", "Lines", "For", "Promised by", "Created", "Actions"],
      page.fulfillment_orders.map((f) => [f.fulfillment_order_id,
        h("a", { href: `#/orders/${encodeURIComponent(f.order_id)}` }, f.order_id), badge(f.status),
        f.lines.map((l) => `${l.sku} ×${l.quantity}`).join(", "), (f.pickup ? "pickup: " : "") + (f.customer_name ?? ""),
        when(f.promised_by), when(f.created_at), actions(f)]), "none"));
  };
  for (const c of [location, status]) c.addEventListener("change", () => void refresh().catch(showError));
  main.replaceChildren(h("h1", {}, "Fulfilment"),
    h("form", { class: "filters", "aria-label": "Choose location and status", onsubmit: (e: Event) => e.preventDefault() },
      field("Location", location), field("Status", status)), results, work);
  let stop = () => {};
  let left = false;
  void pickableLocations().then((list) => {
    for (const l of list) location.append(h("option", { value: l.location_id }, `${l.location_id} (${l.name})`));
    if (!left) stop = poll(refresh, 5000);
  }).catch(showError);
  return () => { left = true; stop(); };
}
