// Sign-in through the operator pool's managed login (in AWS, when config.json names cognito.domain): the
// authorization code with PKCE (RFC 7636), the standard for a browser application that keeps no secret.
// The pool's pages take the password, a first password change and MFA; the code comes back to
// cognito.redirectUri, and is exchanged once, with the verifier only this tab holds, for the pool's tokens.
import { claims, type ConsoleConfig, signIn } from "./auth";

const PENDING = "oms-console-pkce"; // this tab's verifier and state while the person is at the pool's pages

const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

export const offered = (config: ConsoleConfig): boolean => Boolean(config.cognito?.domain && config.cognito.redirectUri);

/** Off to the pool's sign-in page, with a fresh verifier's S256 challenge and a state to match on return. */
export async function start(config: ConsoleConfig): Promise<void> {
  const { domain, clientId, redirectUri } = config.cognito!;
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state }));
  location.assign(`https://${domain}/oauth2/authorize?${new URLSearchParams({ response_type: "code", client_id: clientId,
    redirect_uri: redirectUri!, scope: "openid", state, code_challenge: challenge, code_challenge_method: "S256" })}`);
}

/** Back from the pool's pages with ?code=&state=: the tokens for the code, the person signed in. False when
 * the address carries no code. The code leaves the address bar at once (it is good for one exchange). */
export async function finish(config: ConsoleConfig): Promise<boolean> {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  if (!code || !offered(config)) return false;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? "null") as { verifier: string; state: string } | null;
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", location.pathname + location.hash);
  if (!pending || pending.state !== params.get("state")) throw new Error("this sign-in was not started here: sign in again");
  const { domain, clientId, redirectUri } = config.cognito!;
  const response = await fetch(`https://${domain}/oauth2/token`, { method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", client_id: clientId, code, redirect_uri: redirectUri!,
      code_verifier: pending.verifier }) });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.id_token) throw new Error(`the pool refused the sign-in (${body.error ?? response.status})`);
  signIn({ kind: "bearer", value: body.id_token, who: String(claims(body.id_token)["cognito:username"] ?? ""),
    refresh: body.refresh_token, expiresAt: Date.now() + Number(body.expires_in) * 1000 });
  return true;
}
