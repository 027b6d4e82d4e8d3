// The console's People page in Debian's Chromium with playwright-core, against a running local OMS
// (tests/e2e/test_console_people.py sets OMS_URL, CHROMIUM and SCREENSHOTS): an admin invites a person,
// changes their roles, disables and enables them; a viewer is told the page is admin's. Exits non-zero
// on the first failed step; screenshots land in SCREENSHOTS as people*.png. Then the viewer's sign-in is
// renewed with its refresh token as the token nears expiry, and after a 401.
import { WAIT, base, check, openPage, runSteps, signIn, step } from "./harness.mjs";

const people = async () => (await (await fetch(`${base}/people`, { headers: { "x-api-key": "demo-operator-key" } })).json()).people;

const opened = await openPage();
const { page, shot, banner } = opened;
const signInAs = (username) => signIn(page, username);

await runSteps(opened, "people e2e", "people-failure", async () => {
  step("an admin signs in and opens People: everyone with their roles");
  await page.goto(`${base}/dashboard/#/people`);
  await page.getByRole("heading", { name: "Sign in", level: 1 }).waitFor({ timeout: WAIT });
  await signInAs("demo-admin");
  await page.getByRole("heading", { name: "People", level: 1 }).waitFor({ timeout: WAIT });
  const list = page.getByRole("table", { name: /People/ });
  await list.getByRole("cell", { name: "demo-warehouse", exact: true }).waitFor({ timeout: WAIT });
  check(await list.getByRole("button", { name: "Disable demo-admin" }).count() === 0
        && await list.getByRole("button", { name: "Disable demo-viewer" }).count() === 1,
        "the signed-in admin's own row offers Disable (the API refuses it), or another's does not");
  await shot("people");

  step("a mistyped username is refused by the API, naming the field");
  const invite = page.getByRole("form", { name: "Invite a person" });
  await invite.getByLabel("Username").fill("e2e-nina");
  await invite.getByLabel("Email").fill("nina@example.com");
  await invite.getByLabel("warehouse", { exact: true }).check();
  await invite.getByLabel("Locations (warehouse)").fill("NOWHERE");
  await invite.getByRole("button", { name: "Invite" }).click();
  await banner.getByText("field: locations").waitFor({ timeout: WAIT });

  step("the admin invites a warehouse person at Berlin: listed, waiting for their first sign-in");
  await invite.getByLabel("Locations (warehouse)").fill("WH-DE-BER");
  await invite.getByRole("button", { name: "Invite" }).click();
  await banner.getByText("e2e-nina: invited by user:demo-admin").waitFor({ timeout: WAIT });
  const row = list.getByRole("row").filter({ hasText: "e2e-nina" });
  await row.getByText("FORCE CHANGE PASSWORD").waitFor({ timeout: WAIT });
  await row.getByText("nina@example.com").waitFor({ timeout: WAIT });
  let nina = (await people()).find((p) => p.username === "e2e-nina");
  check(nina?.roles.join() === "warehouse" && nina.locations.join() === "WH-DE-BER", `the API has ${JSON.stringify(nina)}`);
  await shot("people-invited");

  step("the admin makes her finance instead: the roles replace hers");
  const change = page.getByRole("form", { name: "Change roles" });
  await change.getByLabel("Person").selectOption("e2e-nina");
  check(await change.getByLabel("warehouse", { exact: true }).isChecked(), "her current role is not ticked");
  await change.getByLabel("warehouse", { exact: true }).uncheck();
  await change.getByLabel("finance", { exact: true }).check();
  await change.getByLabel("Locations (warehouse)").fill("");
  await change.getByRole("button", { name: "Save roles" }).click();
  await banner.getByText("e2e-nina: roles changed by user:demo-admin").waitFor({ timeout: WAIT });
  await row.getByRole("cell", { name: "finance", exact: true }).waitFor({ timeout: WAIT });
  nina = (await people()).find((p) => p.username === "e2e-nina");
  check(nina.roles.join() === "finance" && nina.locations.length === 0, `the API has ${JSON.stringify(nina)}`);

  step("the admin disables her, then enables her again");
  await page.getByRole("button", { name: "Disable e2e-nina" }).click();
  await banner.getByText("e2e-nina: disabled by user:demo-admin").waitFor({ timeout: WAIT });
  await row.getByRole("cell", { name: "disabled", exact: true }).waitFor({ timeout: WAIT });
  check((await people()).find((p) => p.username === "e2e-nina").enabled === false, "the API still has her enabled");
  await shot("people-disabled");
  await page.getByRole("button", { name: "Enable e2e-nina" }).click();
  await banner.getByText("e2e-nina: enabled by user:demo-admin").waitFor({ timeout: WAIT });
  check((await people()).find((p) => p.username === "e2e-nina").enabled === true, "the API still has her disabled");

  step("a viewer opening People is told it needs admin");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in", level: 1 }).waitFor({ timeout: WAIT });
  await signInAs("demo-viewer");
  await page.goto(`${base}/dashboard/#/people`);
  await page.getByText("People need the role admin; you are viewer.").waitFor({ timeout: WAIT });
  check(await page.getByRole("button", { name: "Invite" }).count() === 0, "a viewer is offered the invitation");
  await shot("people-viewer");

  step("the viewer's token near its expiry is renewed with the sign-in's refresh token, not signed out");
  const stored = () => page.evaluate(() => JSON.parse(sessionStorage.getItem("oms-console-credential")));
  const refreshes = [];
  page.on("request", (r) => { if (r.url().endsWith("/auth/refresh")) refreshes.push(r.method()); });
  const before = await stored();
  check(before.refresh && before.expiresAt > Date.now() + 30 * 60_000, `the sign-in kept ${Object.keys(before)}`);
  await page.evaluate(() => {
    const c = JSON.parse(sessionStorage.getItem("oms-console-credential"));
    sessionStorage.setItem("oms-console-credential", JSON.stringify({ ...c, expiresAt: Date.now() + 60_000 })); // due
  });
  await page.goto(`${base}/dashboard/#/orders`);
  await page.locator("#order-results table, #order-results .empty").first().waitFor({ timeout: WAIT });
  const after = await stored();
  check(refreshes.length === 1 && refreshes[0] === "POST", `renewals: ${refreshes}`);
  check(after.value !== before.value && after.expiresAt > Date.now() + 30 * 60_000 && after.refresh === before.refresh,
    "the token was not renewed");
  await page.getByText("signed in as demo-viewer (viewer)").waitFor({ timeout: WAIT });

  step("a 401 from the API (the token expired early) renews the token and asks once more");
  let refused = 0;
  await page.route("**/orders?**", (route) => (refused++ === 0
    ? route.fulfill({ status: 401, contentType: "application/json",
      body: JSON.stringify({ error: "unauthenticated", message: "the bearer token has expired: sign in again", field: "authorization" }) })
    : route.continue()));
  await page.reload();
  await page.locator("#order-results table, #order-results .empty").first().waitFor({ timeout: WAIT });
  check(refused >= 2 && refreshes.length === 2, `refused ${refused}, renewals ${refreshes.length}`);
  check(await banner.getByText("expired").count() === 0, "the 401 reached the banner");
  await page.unroute("**/orders?**");
});
