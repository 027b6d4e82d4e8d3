// Who the console calls the API as: the one place that knows how a credential is sent.
// Today an API key (x-api-key, the operator's); a Cognito sign-in later gives a bearer token,
// which is the other kind below (sent with the console's key, config.consoleKey): only this module
// and the sign-in form change.

export type Credential = { kind: "api-key"; value: string } | { kind: "bearer"; value: string; who?: string };

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

export function describe(credential: Credential | null): string {
  if (!credential) return "not signed in";
  return credential.kind === "api-key" ? `API key …${credential.value.slice(-8)}` : `signed in as ${credential.who ?? "a person"}`;
}

/** A person's sign-in: username and password for the pool's ID token (sent as a bearer token). */
export async function signInPerson(config: ConsoleConfig, username: string, password: string): Promise<void> {
  const response = await fetch(config.apiBase + (config.signIn ?? ""), {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username, password }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.id_token) throw Object.assign(new Error(body.message ?? "sign-in failed"), { field: body.field ?? null });
  signIn({ kind: "bearer", value: body.id_token, who: username });
}
