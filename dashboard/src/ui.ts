// A few DOM helpers: elements are built with h(), text is always set as text (never as HTML).
import { ApiError } from "./api";
import { type Action, can, needs, roles } from "./auth";

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | null | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

let uid = 0;
/** A labelled control: the label's for= names the control's id. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  control.id ||= `f${++uid}`;
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hint ? h("small", {}, hint) : null);
}

export function select(name: string, options: [string, string][], value = ""): HTMLSelectElement {
  const s = h("select", { name });
  for (const [v, text] of options) s.append(h("option", { value: v, selected: v === value }, text));
  return s;
}

export function table(caption: string, headers: string[], rows: Child[][], empty = "None"): HTMLElement {
  if (!rows.length) return h("p", { class: "empty" }, `${caption}: ${empty}`);
  return h("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": caption },
    h("table", {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, ...headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c)))))));
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function badge(status: string): HTMLElement {
  return h("span", { class: `badge s-${status.toLowerCase()}` }, status.replace(/_/g, " "));
}

// The banner: the API's refusal (message and field) or that it cannot be reached.
const banner = () => document.getElementById("banner")!;

export function showError(e: unknown): void {
  const b = banner();
  b.replaceChildren();
  b.className = "banner error";
  if (e instanceof ApiError) {
    const title = e.status === 0 ? "API unreachable" : `The API refused (${e.status}${e.code ? ` ${e.code}` : ""})`;
    b.append(h("strong", {}, title), " ", e.message);
    if (e.field) b.append(" ", h("span", { class: "field-name" }, `field: ${e.field}`));
    if (e.status === 401 || e.status === 403) b.append(" ", h("a", { href: "#/sign-in" }, "Sign in with another credential"));
  } else {
    b.append(h("strong", {}, "Error"), " ", String(e instanceof Error ? e.message : e));
  }
}

export function showNotice(text: string): void {
  const b = banner();
  b.className = "banner ok";
  b.replaceChildren(text);
}

export function clearBanner(): void {
  const b = banner();
  b.className = "";
  b.replaceChildren();
}

/** Polls `tick` every `ms` until the page is left; an error shows in the banner and polling goes on. */
export function poll(tick: () => Promise<void>, ms = 2500): () => void {
  let stopped = false;
  let failed = false;
  let timer: number | undefined;
  const run = async () => {
    try {
      await tick();
      if (failed && !stopped) clearBanner(); // the API answers again
      failed = false;
    } catch (e) {
      failed = true;
      if (!stopped) showError(e);
    }
    if (!stopped) timer = window.setTimeout(run, ms);
  };
  void run();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}

/** Disables a form or button the signed-in person's roles do not cover, saying which role it needs
 * (display only: the API still refuses with a 403 naming the role). A lone button comes back wrapped
 * with the note beside it. */
export function gate(el: HTMLElement, action: Action): HTMLElement {
  if (can(action)) return el;
  const controls = el.matches("button, input, select, textarea") ? [el] : [...el.querySelectorAll("button, input, select, textarea")];
  for (const c of controls) (c as HTMLButtonElement).disabled = true;
  el.classList.add("denied");
  const note = h("small", { class: "needs", id: `needs${++uid}` }, `Needs the role ${needs(action)}; you are ${roles().join(", ") || "no role"}.`);
  for (const c of controls) c.setAttribute("aria-describedby", note.id); // a screen reader says why it is disabled
  if (el.matches("button")) return h("span", { class: "denied" }, el, " ", note);
  el.append(note);
  return el;
}
