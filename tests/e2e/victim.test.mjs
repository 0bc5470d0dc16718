// Victim identification and the public "Trace an Object" site in a real browser (Debian's
// chromium driven by playwright-core). Run through tests/e2e/run.sh, which starts `safeguard demo`
// with `--public-listen` and sets SAFEGUARD_URL and SAFEGUARD_PUBLIC_URL.
//
// One browser, one context per person: a specialist marks a clue and cuts a crop, two reviewers
// approve it, the anonymous public sees only approved crops and sends a tip that lands in the
// specialist's triage queue, and a flood of tips from one address is refused by the rate limit.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const base = process.env.SAFEGUARD_URL;
const pub = process.env.SAFEGUARD_PUBLIC_URL;
const shots = process.env.SCREENSHOT_DIR || path.resolve("target/e2e-screenshots");
if (!base || !pub) {
  throw new Error("SAFEGUARD_URL and SAFEGUARD_PUBLIC_URL must be set: run tests/e2e/run.sh");
}

let browser;
const cspErrors = [];
const people = {};
const run = Date.now().toString(36);
const clueText = `Red sign reading BAKKERIJ ZON ${run}`;
const objectTitle = `Red bakery sign ${run}`;
let objectId;

async function person(name) {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  page.on("console", (msg) => {
    if (msg.type() === "error" && /Content Security Policy|Refused to/i.test(msg.text())) {
      cspErrors.push(`${name}: ${msg.text()}`);
    }
  });
  people[name] = { context, page };
  return page;
}

async function signIn(page, username, password) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/(queue|dashboard|settings)$/);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, `victim-${name}.png`), fullPage: true });
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
});

after(async () => {
  if (browser) {
    await browser.close();
  }
});

test("the series workspace shows media blurred, grouped, with metadata and a map", async () => {
  const page = await person("specialist");
  await signIn(page, "specialist", "demo-specialist-password");
  await page.getByRole("link", { name: "Victim ID" }).click();
  await page.waitForURL(/\/victim$/);
  await page.getByRole("link", { name: "Demo series Sunflower" }).click();
  await page.getByRole("heading", { name: "Demo series Sunflower" }).waitFor();
  const cards = page.locator("li.media-card");
  assert.equal(await cards.count(), 6, "three scenes, two shots each");
  // Blurred by default: every thumbnail comes from the blurred route, none is revealed.
  assert.equal(await page.locator("figure.thumb.revealed").count(), 0);
  const first = await page.locator("li.media-card img").first().getAttribute("src");
  assert.match(first, /\/thumbnail$/);
  // Metadata read from the scenes' EXIF.
  const text = await page.locator("main").innerText();
  assert.match(text, /DemoCam · Fictional X1 · serial DEMO-X1-0042/);
  assert.match(text, /640×480/);
  assert.equal(await page.locator("svg.map circle.map-point").count(), 6, "six GPS positions");
  await page.locator("#arrange").selectOption("camera");
  await page.getByRole("button", { name: "Arrange" }).click();
  await page.waitForURL(/arrange=camera/);
  const groups = await page.locator("section.media-group h2").allInnerTexts();
  assert.deepEqual(groups.sort(), [
    "DemoCam Fictional X1 (serial DEMO-X1-0042)",
    "Examplephone EP 7 (serial DEMO-EP7-9001)",
  ]);
  await page.locator("#arrange").selectOption("similarity");
  await page.getByRole("button", { name: "Arrange" }).click();
  await page.waitForURL(/arrange=similarity/);
  assert.ok((await page.locator("section.media-group").count()) >= 2, "scenes fall in different groups");
  await shot(page, "01-series");
});

test("a specialist marks a clue by dragging a region and finds it across series", async () => {
  const page = people.specialist.page;
  await page.goto(`${base}/victim/series/1?arrange=time`);
  await page.locator("li.media-card a").first().click();
  await page.waitForURL(/\/victim\/series\/1\/media\/\d+$/);
  const stage = page.locator("#clue-stage");
  await stage.scrollIntoViewIfNeeded();
  const box = await stage.boundingBox();
  assert.ok(box && box.width > 50, "the picture is shown");
  await page.mouse.move(box.x + box.width * 0.25, box.y + box.height * 0.12);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.25, { steps: 4 });
  await page.mouse.move(box.x + box.width * 0.75, box.y + box.height * 0.38, { steps: 4 });
  await page.mouse.up();
  const w = Number(await page.locator("#region-w").inputValue());
  const h = Number(await page.locator("#region-h").inputValue());
  assert.ok(w > 4000 && w < 6000, `dragged width in 1/10000: ${w}`);
  assert.ok(h > 2000 && h < 3000, `dragged height in 1/10000: ${h}`);
  await page.getByLabel("Category").selectOption("text");
  await page.getByLabel("Description").fill(clueText);
  await page.getByLabel("Suspected country (two letters, optional)").fill("nl");
  await page.getByRole("button", { name: "Mark clue" }).click();
  await page.getByText("Clue marked.").waitFor();
  assert.match(await page.locator("#medium-clues").innerText(), new RegExp(clueText));
  assert.equal(await page.locator("svg.clue-overlay rect.clue-rect").count(), 1);
  await shot(page, "02-clue");

  // Searchable across all series.
  await page.goto(`${base}/victim/clues?q=${encodeURIComponent("bakkerij " + run)}`);
  const results = page.locator("#clue-results li.clue-item");
  assert.equal(await results.count(), 1);
  assert.match(await results.first().innerText(), /suspected NL/);
  // A clue without a region is refused for a picture category.
  const status = await page.evaluate(async (url) => {
    const csrf = document.querySelector("meta[name=csrf-token]").content;
    const body = new URLSearchParams({ csrf, category: "logo", description: "no region given" });
    const r = await fetch(url, { method: "POST", body });
    return r.status;
  }, `/victim/series/1/media/1/clues`);
  assert.equal(status, 400);
});

test("two different people must approve a crop before the public sees it", async () => {
  const page = people.specialist.page;
  await page.goto(`${base}/victim/clues?q=${encodeURIComponent("bakkerij " + run)}`);
  const item = page.locator("#clue-results li.clue-item").first();
  await item.locator("summary").click();
  await item.getByLabel("Title").fill(objectTitle);
  await item.getByLabel("Question to the public").fill("Where is this shop sign from?");
  await item.getByRole("button", { name: "Cut crop" }).click();
  await page.waitForURL(/\/victim\/objects\?notice=cut$/);
  const mine = page.locator("li.object-item", { hasText: objectTitle });
  await mine.waitFor();
  objectId = Number(await mine.getAttribute("data-object"));
  assert.match(await mine.innerText(), /Awaiting approval/);
  // The crop is blurred here too, until revealed.
  assert.match(await mine.locator("img").getAttribute("src"), /\/crop$/);

  // Not on the public site yet.
  const anon = await person("public");
  await anon.goto(`${pub}/`);
  assert.equal(await anon.locator(`li.object[data-object="${objectId}"]`).count(), 0);
  const early = await anon.request.get(`${pub}/objects/${objectId}/image`);
  assert.equal(early.status(), 404);

  // First reviewer.
  const r1 = await person("reviewer");
  await signIn(r1, "reviewer", "demo-reviewer-password");
  await r1.goto(`${base}/victim/objects`);
  let card = r1.locator(`li.object-item[data-object="${objectId}"]`);
  // Approving without the attestation is impossible (the box is required, and the server checks).
  const unattested = await r1.evaluate(async (id) => {
    const csrf = document.querySelector("meta[name=csrf-token]").content;
    const r = await fetch(`/victim/objects/${id}/approve`, { method: "POST", body: new URLSearchParams({ csrf }) });
    return r.status;
  }, objectId);
  assert.equal(unattested, 400);
  // The reviewer reveals the crop (audited) to look at it, then attests and approves.
  await card.getByRole("button", { name: "Reveal" }).click();
  await card.locator("figure.thumb.revealed").waitFor();
  await card.getByRole("checkbox").check();
  await card.getByRole("button", { name: "Approve for publication" }).click();
  await r1.getByText("Approval recorded: one more person must approve.").waitFor();
  card = r1.locator(`li.object-item[data-object="${objectId}"]`);
  assert.match(await card.innerText(), /Awaiting approval/);
  assert.match(await card.innerText(), /You approved this crop/);
  // The same person cannot give the second approval.
  const again = await r1.evaluate(async (id) => {
    const csrf = document.querySelector("meta[name=csrf-token]").content;
    const r = await fetch(`/victim/objects/${id}/approve`, {
      method: "POST", body: new URLSearchParams({ csrf, no_person: "1" }),
    });
    return { status: r.status, text: await r.text() };
  }, objectId);
  assert.equal(again.status, 400);
  assert.match(again.text, /another person/);
  assert.equal((await anon.request.get(`${pub}/objects/${objectId}/image`)).status(), 404);

  // Second reviewer, of another organisation.
  const r2 = await person("reviewer.nl");
  await signIn(r2, "reviewer.nl", "demo-reviewer-nl-password");
  await r2.goto(`${base}/victim/objects`);
  const card2 = r2.locator(`li.object-item[data-object="${objectId}"]`);
  await card2.getByRole("checkbox").check();
  await card2.getByRole("button", { name: "Approve for publication" }).click();
  await r2.getByText("Second approval recorded: the object is on the public site.").waitFor();
  const done = r2.locator(`li.object-item[data-object="${objectId}"]`);
  assert.match(await done.innerText(), /Published/);
  assert.match(await done.innerText(), /Approved by: reviewer \(.*\); reviewer\.nl/);
  await shot(r2, "03-approved");
});

test("the public gallery shows only approved crops, without any sign-in", async () => {
  const anon = people.public.page;
  await anon.goto(`${pub}/`);
  const tiles = anon.locator("#gallery li.object");
  const ids = await tiles.evaluateAll((els) => els.map((e) => Number(e.dataset.object)));
  assert.ok(ids.includes(objectId), "the approved crop is shown");
  // Every object shown is published: the specialists' list agrees.
  const spec = people.specialist.page;
  await spec.goto(`${base}/victim/objects`);
  for (const id of ids) {
    const state = await spec.locator(`li.object-item[data-object="${id}"] .badge`).innerText();
    assert.equal(state, "Published", `object ${id} on the public site is published`);
  }
  const pending = await spec.locator("li.object-item.state-pending").evaluateAll((els) => els.map((e) => Number(e.dataset.object)));
  for (const id of pending) {
    assert.ok(!ids.includes(id), `pending object ${id} is not public`);
  }
  const image = await anon.request.get(`${pub}/objects/${objectId}/image`);
  assert.equal(image.status(), 200);
  assert.equal(image.headers()["content-type"], "image/png");
  // The crop is re-encoded: no EXIF, no camera name.
  const bytes = Buffer.from(await image.body());
  assert.ok(!bytes.includes(Buffer.from("DemoCam")) && !bytes.includes(Buffer.from("eXIf")));
  // The public listener does not serve the analysts' pages or media.
  for (const url of ["/login", "/victim/objects", `/victim/objects/${objectId}/crop`, "/api/v1/openapi.json", "/static/report.js"]) {
    assert.equal((await anon.request.get(`${pub}${url}`)).status(), 404, url);
  }
  assert.match(await anon.locator("#figures").innerText(), /objects published/);
  await shot(anon, "04-public-gallery");
});

test("an anonymous tip arrives in the specialists' triage queue", async () => {
  const anon = people.public.page;
  await anon.goto(`${pub}/objects/${objectId}`);
  await anon.getByText("Where is this shop sign from?").waitFor();
  const tipText = `I have seen this bakery sign in a village near the coast (${run}).`;
  await anon.getByLabel("Your tip").fill(tipText);
  await anon.getByLabel("Country (optional)").fill("Netherlands");
  await anon.getByRole("button", { name: "Send tip" }).click();
  await anon.getByText("Thank you: your tip was received.").waitFor();
  await shot(anon, "05-tip-sent");

  // Spam is refused locally: too many links.
  const spam = await anon.evaluate(async (id) => {
    const body = new URLSearchParams({
      text: "cheap http://a.example https://b.example www.c.example offers", website: "",
    });
    const r = await fetch(`/objects/${id}`, { method: "POST", body });
    return { status: r.status, text: await r.text() };
  }, objectId);
  assert.equal(spam.status, 400);
  assert.match(spam.text, /too many links/);

  const spec = people.specialist.page;
  await spec.goto(`${base}/victim/tips`);
  const row = spec.locator("#tips-table tbody tr", { hasText: tipText });
  await row.waitFor();
  assert.match(await row.innerText(), new RegExp(objectTitle));
  assert.match(await row.innerText(), /Netherlands/);
  assert.match(await row.innerText(), /New/);
  await row.locator("select[name=status]").selectOption("useful");
  await row.getByRole("button", { name: "Save" }).click();
  await spec.getByText("Tip triaged.").waitFor();
  await spec.goto(`${base}/victim/tips?status=useful`);
  await spec.locator("#tips-table tbody tr", { hasText: tipText }).waitFor();
  await shot(spec, "06-tips");
});

test("the rate limit refuses a flood of tips from one address", async () => {
  const anon = people.public.page;
  await anon.goto(`${pub}/objects/${objectId}`);
  const statuses = await anon.evaluate(async (id) => {
    const out = [];
    for (let i = 0; i < 12; i++) {
      const body = new URLSearchParams({ text: `Flood message number ${i} about this object`, website: "" });
      const r = await fetch(`/objects/${id}`, { method: "POST", body });
      out.push(r.status);
    }
    return out;
  }, objectId);
  const refused = statuses.filter((s) => s === 429).length;
  const accepted = statuses.filter((s) => s === 200).length;
  assert.ok(refused >= 7, `most of the flood is refused: ${statuses}`);
  assert.ok(accepted <= 5, `at most a burst is accepted: ${statuses}`);
  assert.equal(statuses[statuses.length - 1], 429, "the last one is refused");
  // Refused tips are not stored.
  const spec = people.specialist.page;
  await spec.goto(`${base}/victim/tips?status=all&object=${objectId}`);
  const stored = await spec.locator("#tips-table tbody tr", { hasText: "Flood message number" }).count();
  assert.equal(stored, accepted);
});

test("a traced object is shown solved, and no page broke the CSP", async () => {
  const spec = people.specialist.page;
  await spec.goto(`${base}/victim/objects`);
  const card = spec.locator(`li.object-item[data-object="${objectId}"]`);
  await card.getByLabel("Traced to country").fill("NL");
  await card.getByRole("button", { name: "Mark traced" }).click();
  await spec.getByText("Marked traced").waitFor();
  const anon = people.public.page;
  await anon.goto(`${pub}/`);
  const solved = anon.locator(`#solved li.object[data-object="${objectId}"]`);
  await solved.waitFor();
  assert.match(await solved.innerText(), /Solved: traced to NL/);
  assert.ok(Number(await anon.locator("#fig-traced").innerText()) >= 1);
  assert.ok(Number(await anon.locator("#fig-countries").innerText()) >= 1);
  // A solved object takes no more tips.
  await anon.goto(`${pub}/objects/${objectId}`);
  assert.equal(await anon.getByRole("button", { name: "Send tip" }).count(), 0);
  await shot(anon, "07-solved");
  // The taskforce edition of the demo counts its work.
  await spec.goto(`${base}/victim/taskforces`);
  await spec.getByRole("link", { name: "Demo VIDTF edition" }).click();
  assert.match(await spec.locator("#edition-counts").innerText(), /series reviewed/);
  assert.match(await spec.locator("#timeline").innerText(), /Country suggested/);
  assert.deepEqual(cspErrors, [], "no Content-Security-Policy violations");
});
