// Walks through gw server's dashboard in headless Chromium (playwright-core, found through
// NODE_PATH), as tests/web.rs asks: sign in as the admin, check the overview against the API's
// totals, drill into a session, create and revoke a key, change a budget, sign out; sign in as a
// developer and see only their own; a branch named like markup stays text; no script error or
// CSP violation anywhere; a phone-width screenshot. Prints "walk: ok" when every step held.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");
const cfg = JSON.parse(process.argv[2]);

function check(cond, what) {
  if (!cond) {
    throw new Error("failed: " + what);
  }
  console.log("ok: " + what);
}

const browser = await chromium.launch({ executablePath: cfg.chromium, args: ["--no-sandbox"] });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push("page error: " + e));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push("console: " + m.text());
  });
  let alerted = false;
  page.on("dialog", async (d) => {
    if (d.type() === "alert") {
      alerted = true;
      await d.dismiss();
    } else {
      await d.accept();
    }
  });
  const shot = (name) => page.screenshot({ path: `${cfg.shots}/${name}.png`, fullPage: true });
  const signIn = async (token) => {
    await page.goto(cfg.base + "/ui/login");
    await page.fill("#token", token);
    await Promise.all([page.waitForURL("**/ui/overview"), page.click("form.login button[type=submit]")]);
  };

  await signIn(cfg.admin_token);
  await page.goto(cfg.base + "/ui/overview?period=month");
  await page.waitForSelector(".chart .uplot", { timeout: 10000 });
  check((await page.textContent("#total-requests")).trim() === String(cfg.total_requests), "the overview's requests are the API's");
  check((await page.textContent("#total-unpriced")).trim() === "1", "the unpriced request is flagged");
  check((await page.$$(".budget meter")).length >= 1, "budgets are bars with their limit");
  await shot("overview");

  await page.goto(cfg.base + "/ui/sessions?period=month");
  const table = await page.textContent("table");
  check(table.includes(cfg.xss), "the XSS branch shows as text");
  check((await page.$$('img[src="x"]')).length === 0 && !alerted, "and never runs");
  await Promise.all([page.waitForURL("**/ui/sessions/**"), page.click(`a:has-text("${cfg.dev_session}")`)]);
  check((await page.textContent("main")).includes("claude-sonnet-4-5"), "one session's requests");
  await shot("session");

  await page.goto(cfg.base + "/ui/keys");
  await page.fill('form.create input[name="developer"]', "bob@acme.test");
  await page.fill('form.create input[name="name"]', "from-the-browser");
  await Promise.all([page.waitForLoadState("load"), page.click('form.create button[type="submit"]')]);
  const key = (await page.textContent("#new-key")).trim();
  check(key.startsWith("gwk_"), "a created key is shown once");
  await shot("key-created");
  const keyId = key.split("_")[1];
  await Promise.all([page.waitForURL("**/ui/keys"), page.click(`form[action="/ui/keys/${keyId}/revoke"] button`)]);
  const row = await page.textContent(`tr:has(code:text("${keyId}"))`);
  check(row.includes("revoked"), "the key is revoked after the confirmation");
  await shot("keys");

  await page.goto(cfg.base + "/ui/budgets");
  const edit = page.locator("form.inline").first();
  await edit.locator('input[name="limit_usd"]').fill("7.5");
  await Promise.all([page.waitForURL("**/ui/budgets"), edit.locator("button").click()]);
  check((await page.textContent("table")).includes("$7.50"), "the budget's limit changed");
  await page.waitForSelector(".burns .uplot", { timeout: 10000 });
  await shot("budgets");

  await Promise.all([page.waitForURL("**/ui/login"), page.click("form.signout button")]);
  await page.goto(cfg.base + "/ui/overview");
  check(page.url().endsWith("/ui/login"), "signed out");

  await signIn(cfg.dev_key);
  await page.goto(cfg.base + "/ui/overview?period=month");
  const mine = await page.textContent("main");
  check(!mine.includes("bob@acme.test") && !mine.includes("gpt-5"), "a developer sees only their own spend");
  await page.goto(cfg.base + "/ui/sessions?period=month");
  check(!(await page.textContent("main")).includes(cfg.bob_session), "and only their own sessions");
  await shot("developer-sessions");

  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(cfg.base + "/ui/overview?period=month");
  await page.waitForSelector(".chart .uplot", { timeout: 10000 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `the page fits a phone's width (overflow ${overflow}px)`);
  await shot("phone");

  check(problems.length === 0, "no script error or CSP violation: " + problems.join("; "));
  console.log("walk: ok");
} finally {
  await browser.close();
}
