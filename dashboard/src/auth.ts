// Who the console calls the API as: the one place that knows how a credential is sent, and what the
// signed-in person's roles let the console offer. A person's sign-in gives a bearer token (sent with
// the console's key, config.consoleKey); an API key (x-api-key, the operator's) stays for local use.

// A person's: the ID token, and what renews it before it expires (dashboard/src/refresh.ts).
export type Credential = { kind: "api-key"; value: string }
  | { kind: "bearer"; value: string; who?: string; refresh?: string; expiresAt?: number };

// What the console offers, each by the route it calls. Who may call a route (besides admin) is not kept
// here: the deployment's config.json carries infra/wiring.py's route_roles() (routeRoles), the table
// the API enforces, so the console and the API cannot drift apart (tests/unit/test_console_roles.py
// checks every route named here is one of the wiring's). For display only: the console hides or
// disables what the person cannot do, and the API still decides (a 403 names the missing role).
export type Action = "order.write" | "return.create" | "return.write" | "return.refund" | "note.write" | "stock.write"
  | "stock.import" | "reports.read" | "routing.simulate" | "routing.write" | "fulfilment.write" | "purchasing.read"
  | "purchasing.write" | "purchasing.receive" | "people.manage";
export const ROUTE: Record<Action, string> = {
  "order.write": "POST /orders/{order_id}/cancel", // and release, reject
  "return.create": "POST /orders/{order_id}/returns",
  "return.write": "POST /returns/{rma_id}/approve", // and decline, receive, close
  "return.refund": "POST /returns/{rma_id}/refund",
  "note.write": "POST /customers/{customer_id}/notes",
  "stock.write": "POST /inventory/adjustments",
  "stock.import": "POST /inventory/import",
  "reports.read": "GET /reports/sales", // reports and replenishment suggestions
  "routing.simulate": "POST /routing/simulations",
  "routing.write": "PUT /routing/strategies/{strategy_id}",
  "fulfilment.write": "POST /fulfillment-orders/{fulfillment_order_id}/accept", // pick, pack, ship, ready, collect
  "purchasing.read": "GET /purchase-orders",
  "purchasing.write": "POST /purchase-orders", // and suppliers, cancel
  "purchasing.receive": "POST /purchase-orders/{purchase_order_id}/receive",
  "people.manage": "GET /people", // and invite, roles, disable, enable: admin only
};
let routeRoles: Record<string, string[]> = {};

/** The wiring's roles per route ("POST /orders/{order_id}/cancel": ["customer_service"]), from config.json. */
export function useRouteRoles(table: Record<string, string[]> | undefined): void {
  routeRoles = table ?? {};
}

const may = (action: Action): string[] => routeRoles[ROUTE[action]] ?? []; // unknown: admin only

export interface ConsoleConfig {
  apiBase: string; // "" when the API is on the same origin at its root (the local runtime)
  auth: "api-key" | "bearer";
  // The gateway wants an API key on every keyed route: a person's bearer token comes with the
  // console's own key (which alone may do nothing), when the deployment names one.
  consoleKey?: string;
  // Where a person signs in with username and password for a bearer token (the local runtime's
  // POST /auth/token against the emulator's user pool); absent in AWS, where the pool's SRP sign-in
  // with MFA is still to come.
  signIn?: string;
  demoOperatorKey?: string; // the local runtime offers its demo operator key; never set in AWS
  refresh?: string; // where the local runtime renews a person's tokens (POST /auth/refresh)
  // In AWS: the pool's console client, which renews them; with managed login its domain and return address.
  cognito?: { region: string; clientId: string; domain?: string; redirectUri?: string };
  routeRoles?: Record<string, string[]>; // infra/wiring.py route_roles(): who may call each keyed route
}

const STORE = "oms-console-credential";

export function currentCredential(): Credential | null {
  const raw = sessionStorage.getItem(STORE);
  if (!raw) return null;
  try {
    const c = JSON.parse(raw) as Credential;
    return c && (c.kind === "api-key" || c.kind === "bearer") && c.value ? c : null;
  } catch {
    return null;
  }
}

export function signIn(credential: Credential): void {
  sessionStorage.setItem(STORE, JSON.stringify(credential));
}

export function signOut(): void {
  sessionStorage.removeItem(STORE);
}

export function authHeaders(credential: Credential | null, consoleKey?: string): Record<string, string> {
  if (!credential) return {};
  if (credential.kind === "api-key") return { "x-api-key": credential.value };
  return { Authorization: `Bearer ${credential.value}`, ...(consoleKey ? { "x-api-key": consoleKey } : {}) };
}

/** The token's payload, decoded for display only (the API verifies the signature, never the console). */
export function claims(token: string): Record<string, unknown> {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}

/** The person's roles from the token's cognito:groups ("location:<id>" groups are not roles); an API key: ["operator"]. */
export function roles(credential: Credential | null = currentCredential()): string[] {
  if (!credential) return [];
  if (credential.kind === "api-key") return ["operator"];
  const groups = claims(credential.value)["cognito:groups"];
  return Array.isArray(groups) ? groups.map(String).filter((g) => !g.startsWith("location:")) : [];
}

/** A warehouse person's own locations (their "location:<id>" groups), or null when the caller is not
 * limited to some (GET /locations is not theirs to read: they pick among these). */
export function ownLocations(credential: Credential | null = currentCredential()): string[] | null {
  const mine = roles(credential);
  if (!mine.includes("warehouse") || mine.includes("admin") || credential?.kind !== "bearer") return null;
  const groups = claims(credential.value)["cognito:groups"];
  return Array.isArray(groups) ? groups.map(String).filter((g) => g.startsWith("location:")).map((g) => g.slice(9)) : [];
}

/** Whether the signed-in caller's roles cover an action (the operator key and admin cover all). */
export function can(action: Action, credential: Credential | null = currentCredential()): boolean {
  const mine = roles(credential);
  return mine.includes("operator") || mine.includes("admin") || may(action).some((r) => mine.includes(r));
}

/** "customer_service or admin": who may do an action, as the API's 403 says it. */
export function needs(action: Action): string {
  return [...may(action), "admin"].join(" or ");
}

export function describe(credential: Credential | null): string {
  if (!credential) return "not signed in";
  if (credential.kind === "api-key") return `API key …${credential.value.slice(-8)} (operator)`;
  return `signed in as ${credential.who ?? "a person"} (${roles(credential).join(", ") || "no role"})`;
}

/** A person's sign-in: username and password for the pool's ID token (sent as a bearer token). */
export async function signInPerson(config: ConsoleConfig, username: string, password: string): Promise<void> {
  const response = await fetch(config.apiBase + (config.signIn ?? ""), {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username, password }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.id_token) throw Object.assign(new Error(body.message ?? "sign-in failed"), { field: body.field ?? null });
  signIn({ kind: "bearer", value: body.id_token, who: username, refresh: body.refresh_token,
    expiresAt: Date.now() + Number(body.expires_in) * 1000 });
}
