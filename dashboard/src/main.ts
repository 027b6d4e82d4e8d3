// The console's shell: sign-in (the first screen until someone signs in), the hash router (#/orders,
// #/orders/<id>, #/returns/<rma>, #/inventory, #/fulfilment, #/purchasing, #/exceptions, #/customers/<id>, #/reports,
// #/routing, #/people) and the nav.
import { ApiError, loadConfig } from "./api";
import { type ConsoleConfig, currentCredential, describe, signIn, signInPerson, signOut, useRouteRoles } from "./auth";
import * as hosted from "./hosted";
import { customersPage } from "./pages/customers";
import { exceptionsPage } from "./pages/exceptions";
import { fulfilmentPage } from "./pages/fulfilment";
import { inventoryPage } from "./pages/inventory";
import { orderPage } from "./pages/order";
import { ordersPage } from "./pages/orders";
import { peoplePage } from "./pages/people";
import { purchasingPage } from "./pages/purchasing";
import { reportsPage } from "./pages/reports";
import { returnPage, returnsPage } from "./pages/returns";
import { routingPage } from "./pages/routing";
import { clearBanner, field, h, select, showError } from "./ui";

const main = document.getElementById("main")!;
let leave: () => void = () => {};
let config: ConsoleConfig;
let after = "#/orders"; // where a sign-in goes on to: the page asked for before it

function signedIn(): void {
  const target = after;
  after = "#/orders";
  if (location.hash === target) route();
  else location.hash = target;
}

function signInPage(): () => void {
  const username = h("input", { type: "text", name: "username", required: true, autocomplete: "username" });
  const password = h("input", { type: "password", name: "password", required: true, autocomplete: "current-password" });
  const person = config.signIn ? h("form", { class: "panel", "aria-labelledby": "person-title", onsubmit: async (e: Event) => {
    e.preventDefault();
    try {
      await signInPerson(config, username.value.trim(), password.value);
      signedIn();
    } catch (err) {
      showError(new ApiError(401, (err as Error).message, "unauthenticated", (err as { field?: string }).field ?? null));
    }
  } }, h("h2", { id: "person-title" }, "Sign in as a person"), field("Username", username), field("Password", password),
    h("button", { type: "submit" }, "Sign in")) : hosted.offered(config) ? h("div", { class: "panel" },
    h("h2", {}, "Sign in as a person"), h("p", {}, "With your username, password and authenticator app, on the operator pool's page."),
    h("button", { type: "button", onclick: () => void hosted.start(config).catch(showError) }, "Sign in with the operator pool")) : "";
  const kind = select("kind", [["api-key", "API key (x-api-key)"], ["bearer", "Bearer token"]], config.auth);
  const value = h("input", { type: "password", name: "credential", required: true, autocomplete: "off",
    value: config.demoOperatorKey ?? "" });
  main.replaceChildren(h("h1", {}, "Sign in"),
    config.signIn ? h("p", { class: "muted" }, "Sign in as one of the operator's people: what the console offers follows your role.") : "",
    h("div", { class: "two" }, person,
    h("form", { class: "panel", "aria-labelledby": "key-title", onsubmit: (e: Event) => {
      e.preventDefault();
      signIn({ kind: kind.value as "api-key" | "bearer", value: value.value.trim() });
      signedIn();
    } }, h("h2", { id: "key-title" }, "Sign in with a credential"),
      config.demoOperatorKey ? h("p", {}, "The local runtime's demo operator key is filled in (it acts as admin).") : "",
      field("Credential type", kind), field("Credential", value), h("button", { type: "submit" }, "Use this credential"))));
  (config.signIn ? username : value).focus();
  return () => {};
}

function route(): void {
  leave();
  clearBanner();
  const path = location.hash.replace(/^#/, "") || "/orders";
  if (!currentCredential() && path !== "/sign-in") after = `#${path}`;
  const who = document.getElementById("who")!;
  who.replaceChildren(describe(currentCredential()), " ",
    currentCredential() ? h("button", { type: "button", class: "link", onclick: () => { signOut(); location.hash = "#/sign-in"; } }, "Sign out") : "");
  const [, page, id] = path.split("/");
  for (const a of document.querySelectorAll<HTMLAnchorElement>("nav a")) {
    if (a.dataset.nav === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (!currentCredential() || page === "sign-in") leave = signInPage();
  else if (page === "orders" && id) leave = orderPage(main, decodeURIComponent(id));
  else if (page === "returns") leave = id ? returnPage(main, decodeURIComponent(id)) : returnsPage(main);
  else if (page === "purchasing") leave = purchasingPage(main);
  else if (page === "inventory") leave = inventoryPage(main);
  else if (page === "fulfilment") leave = fulfilmentPage(main);
  else if (page === "exceptions") leave = exceptionsPage(main);
  else if (page === "reports") leave = reportsPage(main);
  else if (page === "routing") leave = routingPage(main);
  else if (page === "people") leave = peoplePage(main);
  else if (page === "customers") leave = customersPage(main, id ? decodeURIComponent(id) : "");
  else leave = ordersPage(main);
  document.title = `${main.querySelector("h1")?.textContent ?? "OMS"} · OMS console`;
}

void loadConfig().then(async (c) => {
  config = c;
  useRouteRoles(c.routeRoles);
  const failed = await hosted.finish(c).then(() => null, (e: unknown) => e); // back from the pool's sign-in page?
  window.addEventListener("hashchange", route);
  route();
  if (failed) showError(failed);
});
