// Who the console calls the API as: the one place that knows how a credential is sent.
// Today an API key (x-api-key, the operator's); a Cognito sign-in later gives a bearer token,
// which is the other kind below: only this module and the sign-in form change.

export type Credential = { kind: "api-key"; value: string } | { kind: "bearer"; value: string };

export interface ConsoleConfig {
  apiBase: string; // "" when the API is on the same origin at its root (the local runtime)
  auth: "api-key" | "bearer";
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

export function authHeaders(credential: Credential | null): Record<string, string> {
  if (!credential) return {};
  return credential.kind === "api-key"
    ? { "x-api-key": credential.value }
    : { Authorization: `Bearer ${credential.value}` };
}

export function describe(credential: Credential | null): string {
  if (!credential) return "not signed in";
  return credential.kind === "api-key" ? `API key …${credential.value.slice(-8)}` : "signed in";
}
