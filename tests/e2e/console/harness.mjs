// What every console browser script shares: the environment the pytest side sets (OMS_URL, CHROMIUM,
// SCREENSHOTS), the step log and check, and Debian's Chromium opened on one page through playwright-core
// (no browser download), with the page's own errors collected for the script's last check.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const base = process.env.OMS_URL;
export const shots = process.env.SCREENSHOTS;
mkdirSync(shots, { recursive: true });
export const WAIT = 30_000;

export const step = (text) => console.log(`- ${text}`);
export function check(condition, text) {
  if (!condition) throw new Error(`failed: ${text}`);
}

/** The browser and one page (a fresh profile: playwright-core gives each context its own user data dir). */
export async function openPage() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  const shot = async (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  return { browser, page, pageErrors, shot, banner: page.locator("#banner") };
}

/** A script's steps on the page `openPage` opened: at the end no errors in the page and "<name>: all steps
 * passed"; on a failure a screenshot `<failureShot>.png`, the error, and exit status 1; the browser closed either way. */
export async function runSteps({ browser, pageErrors, shot }, name, failureShot, steps) {
  try {
    await steps();
    check(pageErrors.length === 0, `errors in the page: ${pageErrors.join("; ")}`);
    console.log(`${name}: all steps passed`);
  } catch (e) {
    await shot(failureShot).catch(() => undefined);
    console.error(String(e?.stack ?? e));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

/** Sign in on the console's form as a demo person (their password follows the local runtime's pattern). */
export async function signIn(page, username) {
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(`${username.replace(/^demo-/, "Demo-")}-pass-1`);
  await page.getByLabel("Password").press("Enter"); // the keyboard is enough
  await page.getByText(`signed in as ${username}`).waitFor({ timeout: WAIT });
}
