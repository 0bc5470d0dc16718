// Referrals, packages, the recipient's inbox and the dashboard, in a real browser (Debian's
// chromium driven by playwright-core). Run through tests/e2e/run.sh after web.test.mjs (file
// names sort so): passing referrals on to the German agency makes reports visible to it, which
// the earlier test checks it does not see.
//
// The flow: the EU coordinator passes on the referrals the hotline's routing sent it, builds a
// package for the German agency; a second coordinator approves (four eyes) and sends it; the
// German investigator acknowledges it, records outcomes, and sees the dashboard change.
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
let packageUrl;
let firstReport;

async function shot(name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

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

before(async () => {
  mkdirSync(shots, { recursive: true });
  profile = mkdtempSync(path.join(tmpdir(), "safeguard-e2e-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
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
  if (context) await context.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test("a report's cluster view draws its links as a graph with their reasons", async () => {
  await signIn("analyst", "demo-analyst-password");
  // The demo cross-checks its reports at creation: find one with links.
  let found = false;
  for (const id of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
    await page.goto(`${base}/reports/${id}`);
    await page.getByRole("link", { name: /Cluster view/ }).click();
    await page.waitForURL(new RegExp(`/reports/${id}/cluster$`));
    if ((await page.locator("#cluster-graph a.node.report").count()) > 0) {
      found = true;
      break;
    }
  }
  assert.ok(found, "one of the first ten demo reports is linked to another");
  const reasons = await page.locator("#link-reasons tbody tr").count();
  assert.ok(reasons > 0, "the table gives the reason of each link");
  const drawn = await page.locator("#cluster-graph g.node.identifier").count();
  assert.ok(drawn > 0, "shared identifiers are drawn");
  // Every report drawn is a link to that report, and appears in the table of reasons.
  const href = await page.locator("#cluster-graph a.node.report").first().getAttribute("href");
  assert.match(href, /^\/reports\/\d+$/);
  assert.ok((await page.locator(`#link-reasons a[href="${href}"]`).count()) > 0);
  await shot("20-cluster-graph");
  await signOut();
});

test("the coordinator passes on referrals and builds a package for the German agency", async () => {
  await signIn("coordinator", "demo-coordinator-password");
  await page.getByRole("link", { name: "Packages" }).click();
  await page.getByRole("heading", { name: "Referrals and packages" }).waitFor();
  // The demo routes its reports in the background: wait for the hotline's referrals to arrive.
  for (let i = 0; i < 60 && (await page.locator("#held-referrals tbody tr").count()) === 0; i++) {
    await page.waitForTimeout(1000);
    await page.reload();
  }
  const held = await page.locator("#held-referrals tbody tr", { hasText: "Demo Agency Germany" }).count();
  assert.ok(held > 0, "referrals of German reports wait to be passed on");
  await shot("21-referrals-to-pass-on");
  await page.getByRole("button", { name: "Pass on the ticked referrals" }).click();
  await page.getByText("Referral(s) passed on.").waitFor();
  const row = page.locator("#referral-groups tbody tr", { hasText: "Demo Agency Germany" });
  const waiting = Number(await row.locator("td").nth(0).innerText());
  assert.ok(waiting >= held, `the German agency has ${held} or more referrals waiting, saw ${waiting}`);
  await row.getByRole("button", { name: "Build a package for Demo Agency Germany" }).click();
  await page.waitForURL(/\/packages\/\d+\?done=built$/);
  packageUrl = page.url().replace(/\?.*$/, "");
  assert.equal(await page.locator("#package-state").innerText(), "draft");
  assert.equal(await page.locator("#package-reports tbody tr").count(), waiting);
  firstReport = await page.locator("#package-reports tbody tr").first().getAttribute("data-report");
  // Four eyes: the builder cannot approve.
  await page.getByText("You built this package: someone else approves it").waitFor();
  assert.equal(await page.getByRole("button", { name: "Approve" }).count(), 0);
  await shot("22-package-draft");
  // The readable report is what the recipient will get.
  await page.getByRole("link", { name: /Readable report/ }).click();
  await page.getByRole("heading", { name: "Intelligence package" }).waitFor();
  assert.match(await page.locator("body").innerText(), /to Demo Agency Germany/);
  assert.match(await page.locator("body").innerText(), new RegExp(`Report ${firstReport} `));
  await shot("23-package-readable");
  await page.goto(packageUrl);
  await signOut();
});

test("a second coordinator approves and sends it", async () => {
  await signIn("coordinator.lead", "demo-coordinator-lead-password");
  await page.goto(packageUrl);
  await page.getByRole("button", { name: "Approve" }).click();
  await page.getByText("Package approved.").waitFor();
  assert.equal(await page.locator("#package-state").innerText(), "approved");
  await page.getByRole("button", { name: "Send to Demo Agency Germany" }).click();
  await page.getByText("Package sent: the recipient sees it in its inbox.").waitFor();
  assert.equal(await page.locator("#package-state").innerText(), "sent");
  const history = await page.locator("#package-history").innerText();
  assert.match(history, /draft\s+coordinator\s/);
  assert.match(history, /approved\s+coordinator\.lead/);
  assert.match(history, /sent\s+coordinator\.lead/);
  await shot("24-package-sent");
  await signOut();
});

test("the German investigator acknowledges it, records outcomes, and the dashboard changes", async () => {
  await signIn("investigator.de", "demo-investigator-password");
  const from = new Date(Date.now() - 89 * 86400000).toISOString().slice(0, 10);
  const dashboard = `${base}/dashboard?from=${from}`;
  await page.goto(dashboard);
  assert.equal(await page.locator("#victims-identified").innerText(), "0");
  assert.equal(await page.locator("#arrests").innerText(), "0");
  assert.equal(await page.locator("#packages-acknowledged").innerText(), "0");
  await page.getByText("No data yet: no outcome reported in this period.").waitFor();
  await shot("25-dashboard-before");

  await page.goto(`${base}/inbox`);
  const row = page.locator("#inbox tbody tr", { hasText: "Demo Coordinator (EU)" });
  assert.equal(await row.count(), 1);
  assert.match(await row.innerText(), /sent/);
  await row.getByRole("link").click();
  await page.getByRole("button", { name: "Acknowledge receipt" }).click();
  await page.getByText("Package acknowledged.").waitFor();
  assert.equal(await page.locator("#package-state").innerText(), "acknowledged");

  const report = page.locator(`#package-reports tbody tr[data-report="${firstReport}"]`);
  await report.getByLabel("Victim identified").check();
  await report.getByLabel("Arrest").check();
  await report.getByLabel("Note").fill("DEMO: fictional outcome");
  await page.getByRole("button", { name: "Record outcomes" }).click();
  await page.getByText("Outcomes recorded.").waitFor();
  assert.equal(await page.locator("#package-state").innerText(), "outcome reported");
  assert.match(await report.locator("td.outcomes").innerText(), /Victim identified, Arrest/);
  await shot("26-package-outcomes");

  await page.goto(dashboard);
  assert.equal(await page.locator("#victims-identified").innerText(), "1");
  assert.equal(await page.locator("#arrests").innerText(), "1");
  assert.equal(await page.locator("#packages-sent").innerText(), "1");
  assert.equal(await page.locator("#packages-acknowledged").innerText(), "1");
  assert.match(await page.locator("#median-ack").innerText(), /^\d+\.\d h$/);
  assert.equal(await page.locator("#outcome-table tr").count(), 2);
  await page.locator("#out-h").scrollIntoViewIfNeeded();
  await shot("27-dashboard-after");
  await signOut();
  assert.deepEqual(cspErrors, [], "no Content-Security-Policy violations");
});
