// The analysts' web application in a real browser: Debian's chromium driven by playwright-core.
// Run through tests/e2e/run.sh, which starts `safeguard demo` and sets SAFEGUARD_URL.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const base = process.env.SAFEGUARD_URL;
const shots = process.env.SCREENSHOT_DIR || path.resolve("target/e2e-screenshots");
if (!base) {
  throw new Error("SAFEGUARD_URL is not set: run tests/e2e/run.sh");
}

let context;
let page;
let profile;
const cspErrors = [];

async function shot(name) {
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  profile = mkdtempSync(path.join(tmpdir(), "safeguard-e2e-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    viewport: { width: 1360, height: 900 },
  });
  page = context.pages()[0] || (await context.newPage());
  page.on("console", (msg) => {
    if (msg.type() === "error" && /Content Security Policy|Refused to/i.test(msg.text())) {
      cspErrors.push(msg.text());
    }
  });
});

after(async () => {
  if (context) {
    await context.close();
  }
  if (profile) {
    rmSync(profile, { recursive: true, force: true });
  }
});

test("sign in lands on the triage queue with user, organisation and role shown", async () => {
  await page.goto(`${base}/queue`);
  assert.match(page.url(), /\/login\?next=/);
  await assert.doesNotReject(page.getByRole("heading", { name: "Sign in" }).waitFor());
  await shot("01-sign-in");
  await page.getByLabel("Username").fill("analyst");
  await page.getByLabel("Password").fill("wrong password!!");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("Wrong username or password.").waitFor();
  await page.getByLabel("Password").fill("demo-analyst-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/queue$/);
  await page.getByRole("heading", { name: "Triage queue" }).waitFor();
  const top = await page.locator("header.topbar").innerText();
  assert.match(top, /analyst/);
  assert.match(top, /Demo Hotline/);
  const rows = await page.locator("#queue-table tbody tr[data-href]").count();
  assert.equal(rows, 50, "a full first page");
  await shot("02-queue");
});

test("keyboard: j moves, x selects, Enter opens", async () => {
  await page.goto(`${base}/queue`);
  await page.locator("body").press("j");
  await page.keyboard.press("j");
  const current = page.locator("#queue-table tbody tr.current");
  assert.equal(await current.count(), 1);
  const href = await current.getAttribute("data-href");
  assert.equal(href, await page.locator("#queue-table tbody tr[data-href]").nth(1).getAttribute("data-href"));
  await page.keyboard.press("x");
  assert.equal(await page.locator("#selected-count").innerText(), "1 selected");
  await page.keyboard.press("k");
  await page.keyboard.press("x");
  assert.equal(await page.locator("#selected-count").innerText(), "2 selected");
  await shot("03-queue-keyboard");
  await page.keyboard.press("j");
  await page.keyboard.press("Enter");
  await page.waitForURL(new RegExp(`${href}$`));
  await page.getByRole("heading", { name: /^Report #\d+/ }).waitFor();
});

test("bulk action: assign two reports to me", async () => {
  await page.goto(`${base}/queue?state=finished`);
  const boxes = page.locator("#queue-table tbody input[type=checkbox]");
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  await page.getByRole("button", { name: "Assign to me" }).click();
  await page.getByText("2 report(s) changed.").waitFor();
  const assigned = await page.locator("#queue-table tbody tr", { hasText: "analyst" }).count();
  assert.ok(assigned >= 2, `two rows show the assignee, saw ${assigned}`);
});

test("a report shows its facts in reading order, files blurred; a reveal is audited", async () => {
  await page.goto(`${base}/queue`);
  // Find a report with files (the demo attaches files to every third report).
  const hrefs = await page.$$eval("#queue-table tbody tr[data-href]", (rows) =>
    rows.filter((r) => r.cells[8] && r.cells[8].innerText.trim() !== "0").map((r) => r.dataset.href),
  );
  assert.ok(hrefs.length > 0, "some report on the first page has files");
  await page.goto(`${base}${hrefs[0]}`);
  const headings = await page.locator("main h2").allInnerTexts();
  assert.deepEqual(headings, [
    "Incident",
    "Reporter",
    "Reported accounts and parties",
    "IP events",
    "Files",
    "Linked reports",
    "Priority and assignment",
    "History",
  ]);
  const thumb = page.locator("figure.thumb").first();
  const img = thumb.locator("img");
  await img.waitFor();
  await page.waitForFunction(() => {
    const i = document.querySelector("figure.thumb img");
    return i && i.complete && i.naturalWidth > 0;
  });
  const blurredSrc = await img.getAttribute("src");
  assert.match(blurredSrc, /\/thumbnail$/);
  assert.equal(await page.locator("#history").innerText().then((t) => t.includes("media.view")), false);
  await shot("04-report-blurred");

  await thumb.getByRole("button", { name: "Reveal" }).click();
  await page.locator("figure.thumb.revealed").waitFor();
  const revealedSrc = await img.getAttribute("src");
  assert.match(revealedSrc, /^blob:/);
  await shot("05-report-revealed");

  await page.reload();
  const history = await page.locator("#history").innerText();
  assert.match(history, /media\.view/);
  assert.match(history, /analyst/);
  await page.locator("#history").scrollIntoViewIfNeeded();
  await shot("06-report-history");
});

async function signIn(username, password) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/(queue|dashboard)$/);
}

async function signOut() {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/login$/);
}

test("another agency's report is not found", async () => {
  // Every demo report is held by the hotline: the German agency's investigator sees none.
  await signOut();
  await signIn("investigator.de", "demo-investigator-password");
  assert.match(await page.locator("header.topbar").innerText(), /Demo Agency Germany/);
  const response = await page.goto(`${base}/reports/1`);
  assert.equal(response.status(), 404);
  await page.getByRole("heading", { name: "Not found" }).waitFor();
  await shot("07-not-found");
  await page.goto(`${base}/queue`);
  assert.equal(await page.locator("#queue-table tbody tr[data-href]").count(), 0);
  await page.goto(`${base}/settings`);
  await signOut();
  await signIn("analyst", "demo-analyst-password");
});

test("the dashboard draws its charts on the server", async () => {
  // The demo spreads its reports over the last 60 days: ask for 90, so every report counts.
  const from = new Date(Date.now() - 89 * 86400000).toISOString().slice(0, 10);
  await page.goto(`${base}/dashboard?from=${from}`);
  await page.getByRole("heading", { name: "Statistics" }).waitFor();
  const total = Number(await page.locator("#total").innerText());
  assert.equal(total, 200);
  assert.ok((await page.locator("svg.chart").count()) >= 3);
  assert.ok((await page.locator("svg.chart rect.bar").count()) > 3);
  await page.getByText("No data yet: no outcome reported in this period.").waitFor();
  await shot("08-dashboard");
  const csvHref = await page.getByRole("link", { name: "Export CSV" }).getAttribute("href");
  const csv = await page.evaluate(async (href) => (await fetch(href)).text(), csvHref);
  assert.match(csv, /^section,label,value\n/);
  assert.match(csv, /"total","reports received",200\n/);
});

test("settings and sign-out", async () => {
  await page.goto(`${base}/settings`);
  await page.getByRole("heading", { name: "Wellness: how pictures appear" }).waitFor();
  await shot("09-settings");
  await signOut();
  await page.goto(`${base}/queue`);
  assert.match(page.url(), /\/login\?next=/);
  assert.deepEqual(cspErrors, [], "no Content-Security-Policy violations");
});
