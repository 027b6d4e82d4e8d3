// The console's sign-in through the operator pool's managed login (as deployed: config.json names
// cognito.domain), in Debian's Chromium with playwright-core against the local OMS. The pool's pages and
// token endpoint are stood in for by request interception (moto has no managed login): the authorize
// request must carry an S256 challenge, the token request the verifier that hashes to it, and the tokens
// answered are the emulator pool's real ones, which the API then takes. A forged return is refused.
import { createHash } from "node:crypto";
import { WAIT, base, check, openPage, runSteps, step } from "./harness.mjs";

const DOMAIN = "auth.oms.test";
const opened = await openPage();
const { page, shot, banner } = opened;

await runSteps(opened, "pool sign-in e2e", "sign-in-pool-failure", async () => {
  step("the deployed config names the pool's domain: the sign-in screen offers the pool's sign-in");
  await page.route(`${base}/dashboard/config.json`, async (route) => {
    const local = await (await route.fetch()).json();
    delete local.signIn; // as deployed: no password form of our own
    route.fulfill({ json: { ...local, cognito: { region: "us-east-1", clientId: "console-client", domain: DOMAIN,
      redirectUri: `${base}/dashboard/` } } });
  });
  const pool = await (await fetch(`${base}/auth/token`, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: "demo-finance", password: "Demo-finance-pass-1" }) })).json();
  let authorize = null;
  let exchange = null;
  await page.route(`https://${DOMAIN}/oauth2/authorize**`, (route) => {
    authorize = new URL(route.request().url()).searchParams;
    route.fulfill({ status: 302, headers: { location: `${base}/dashboard/?code=the-code&state=${authorize.get("state")}` } });
  });
  await page.route(`https://${DOMAIN}/oauth2/token`, (route) => {
    exchange = new URLSearchParams(route.request().postData());
    route.fulfill({ status: 200, contentType: "application/json", headers: { "access-control-allow-origin": "*" },
      body: JSON.stringify({ id_token: pool.id_token, access_token: pool.access_token, refresh_token: pool.refresh_token,
        expires_in: 3600, token_type: "Bearer" }) });
  });
  await page.goto(`${base}/dashboard/`);
  await page.getByRole("button", { name: "Sign in with the operator pool" }).waitFor({ timeout: WAIT });
  await shot("sign-in-pool");

  step("the code comes back and is exchanged with the verifier only this tab holds: the person is signed in");
  await page.getByRole("button", { name: "Sign in with the operator pool" }).click();
  await page.getByText("signed in as demo-finance (finance)").waitFor({ timeout: WAIT });
  await page.locator("#order-results table, #order-results .empty").first().waitFor({ timeout: WAIT });
  check(authorize.get("response_type") === "code" && authorize.get("code_challenge_method") === "S256"
    && authorize.get("client_id") === "console-client" && authorize.get("redirect_uri") === `${base}/dashboard/`,
    `authorize asked ${authorize}`);
  const hashed = createHash("sha256").update(exchange.get("code_verifier")).digest("base64url");
  check(hashed === authorize.get("code_challenge"), "the verifier does not hash to the challenge");
  check(exchange.get("grant_type") === "authorization_code" && exchange.get("code") === "the-code"
    && exchange.get("redirect_uri") === `${base}/dashboard/`, `the exchange sent ${exchange}`);
  check(!page.url().includes("code="), `the code stayed in the address: ${page.url()}`);
  const stored = await page.evaluate(() => JSON.parse(sessionStorage.getItem("oms-console-credential")));
  check(stored.refresh === pool.refresh_token && stored.expiresAt > Date.now(), "the refresh token was not kept");

  step("a return this tab did not start (a forged state) is refused");
  await page.evaluate(() => sessionStorage.clear());
  await page.goto(`${base}/dashboard/?code=stolen&state=forged`);
  await banner.getByText("this sign-in was not started here").waitFor({ timeout: WAIT });
  await page.getByRole("button", { name: "Sign in with the operator pool" }).waitFor({ timeout: WAIT });
});
