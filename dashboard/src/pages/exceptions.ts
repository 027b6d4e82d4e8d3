// Exceptions: what reconciliation listed for the operator (GET /admin/exceptions), refreshed.
import { get } from "../api";
import { h, poll, table, when } from "../ui";

interface OpenException { kind: string; subject: string; order_id: string | null; status: string | null; reason: string;
  suggested_action: string | null; since: string | null; raised_at: string; age_minutes: number | null }

export function exceptionsPage(main: HTMLElement): () => void {
  const results = h("div", { id: "exception-results" });
  main.replaceChildren(h("h1", {}, "Exceptions"),
    h("p", { class: "muted" }, "Stuck orders, payment problems, ageing authorisations and more, as the reconciliation run lists them."),
    results);
  return poll(async () => {
    const page = await get<{ exceptions: OpenException[] }>("/admin/exceptions");
    results.replaceChildren(table(`Open exceptions (${page.exceptions.length})`,
      ["Kind", "Subject", "Status", "Reason", "Suggested action", "Since", "Raised"],
      page.exceptions.map((x) => [x.kind,
        x.order_id ? h("a", { href: `#/orders/${encodeURIComponent(x.order_id)}` }, x.order_id) : x.subject,
        x.status, x.reason, x.suggested_action, when(x.since), when(x.raised_at)]), "none open"));
  }, 10000);
}
