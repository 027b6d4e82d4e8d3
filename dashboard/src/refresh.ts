// A person's sign-in renewed before its ID token expires (15 minutes in AWS), with the refresh token the
// sign-in gave, instead of signing them out: locally the runtime's POST /auth/refresh (config.refresh), in
// AWS Cognito's InitiateAuth (REFRESH_TOKEN_AUTH) straight from the browser (config.cognito: no secret,
// the console's app client is public). The new token carries the person's groups as they are now.
import { type ConsoleConfig, currentCredential, signIn } from "./auth";

const EARLY_MS = 5 * 60_000; // renewed this long before the token expires
let pending: Promise<boolean> | null = null; // one renewal at a time, whatever the number of requests waiting

async function exchange(config: ConsoleConfig, refreshToken: string): Promise<{ idToken: string; expiresIn: number } | null> {
  if (config.refresh) {
    const response = await fetch(config.apiBase + config.refresh, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: refreshToken }) });
    const body = await response.json().catch(() => ({}));
    return response.ok && body.id_token ? { idToken: body.id_token, expiresIn: Number(body.expires_in) } : null;
  }
  if (config.cognito) {
    const response = await fetch(`https://cognito-idp.${config.cognito.region}.amazonaws.com/`, { method: "POST",
      headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth" },
      body: JSON.stringify({ AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: config.cognito.clientId, AuthParameters: { REFRESH_TOKEN: refreshToken } }) });
    const result = (await response.json().catch(() => ({}))).AuthenticationResult;
    return response.ok && result?.IdToken ? { idToken: result.IdToken, expiresIn: Number(result.ExpiresIn) } : null;
  }
  return null;
}

/** Renews the person's token when it is due, or at once when `force`d (the API answered 401): whether a new
 * one is stored. Without a refresh token, or when the pool refuses it, the person stays as they are (the
 * API's 401 then asks them to sign in again). */
export function renew(config: ConsoleConfig, force = false): Promise<boolean> {
  const credential = currentCredential();
  if (credential?.kind !== "bearer" || !credential.refresh) return Promise.resolve(false);
  if (!force && (credential.expiresAt ?? Infinity) - Date.now() > EARLY_MS) return Promise.resolve(false);
  pending ??= exchange(config, credential.refresh)
    .then((fresh) => {
      if (fresh) signIn({ ...credential, value: fresh.idToken, expiresAt: Date.now() + fresh.expiresIn * 1000 });
      return fresh !== null;
    })
    .catch(() => false)
    .finally(() => { pending = null; });
  return pending;
}
