// The console's profiles in a real browser (Debian's Chromium) against the real service: the Profiles page, a profile's
// variables, versions and destinations, a backfill run from its dry run (confirmed, followed, cancelled, then run to the
// end), the playground loading a profile's variables and showing confidence and flags, and "Send test" with a
// profile's sample. Screenshots land in test/console/screenshots/.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autocallsPayload } from "../fixtures/calls.js";
import { buildConsole, launchBrowser, screenshot, watchedPages } from "../support/browser.js";
import { answerFor, startFakeLlm, userMessage, type FakeLlm, type RecordedRequest } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

let consoleDir: string;
let browser: Browser;
let llm: FakeLlm;
let crm: Receiver;
let service: TestService;
let configFile: string;

/** While set, requests for re-extractions wait on it: a backfill's first call stays in flight until it is released. */
let gate: Promise<void> | undefined;
let release: () => void = () => {};

function answer(request: RecordedRequest) {
  const plan = userMessage(request).includes("Pro plan") ? "pro" : "basic";
  return { json: answerFor(request, { status: true, summary: "Demo booked", plan }), tokens: { uncertain: { plan: -1.2 } } };
}

function writeConfig(description: string) {
  writeFileSync(
    configFile,
    JSON.stringify({
      profiles: {
        demos: {
          variables: [{ name: "plan", type: "enum", options: ["basic", "pro"], description }],
          destinations: ["crm"],
          evidence: false,
          review: { min_confidence: 0.8 },
        },
      },
      destinations: { crm: { url: `${crm.url}/hooks/T0SECRETPATH?token=SECRETQUERY` } },
    }),
  );
}

beforeAll(async () => {
  [consoleDir, browser, llm, crm] = await Promise.all([buildConsole(), launchBrowser(), startFakeLlm(), startReceiver()]);
  llm.logprobs = "give";
  llm.script = (request) => (gate ? gate.then(() => answer(request)) : answer(request));
  configFile = join(mkdtempSync(join(tmpdir(), "debrief-console-profiles-")), "debrief.json");
  writeConfig("The plan the customer wants a demo of");
  service = await startTestService(
    {
      OPENAI_BASE_URL: llm.url,
      DEBRIEF_CONFIG: configFile,
      DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
      DEBRIEF_LLM_MAX_RETRIES: "0",
      DEBRIEF_LLM_CONCURRENCY: "1",
      DEBRIEF_CACHE: "false",
    },
    { consoleDir },
  );
}, 60_000);

afterAll(async () => {
  release();
  await browser?.close();
  await service?.close();
  await Promise.all([llm?.close(), crm?.close()]);
});

const newPage = watchedPages(() => browser);

async function deliveredCall(id: number): Promise<void> {
  const transcript = `AI: Hello, call ${id}.\nCustomer: I'd like a demo of the basic plan.\nAI: Booked.`;
  const accepted = await service.post("/v1/calls?profile=demos", autocallsPayload({ id, transcript }));
  expect(accepted.status).toBe(202);
  const call = await until(() => service.get(`/v1/calls/${accepted.body.call_id}`), (res) => res.body.state === "delivered");
  expect(call.body.state).toBe("delivered");
}

describe("profiles", () => {
  it("lists the profiles, shows one's variables, versions and destinations, and runs a backfill from its dry run, with cancel", async () => {
    crm.script([{ status: 200 }]);
    for (const id of [3001, 3002, 3003]) await deliveredCall(id);
    // A sharper description: a new version, so the three calls are outdated.
    writeConfig("The plan (basic or pro) the customer asks to see a demo of");
    expect((await service.post("/v1/admin/reload", {})).status).toBe(200);

    const page = await newPage();
    await page.goto(`${service.url}/console/`);
    await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Profiles" }).click();
    await page.waitForURL(`${service.url}/console/profiles`);
    const row = page.locator("table.list tbody tr");
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.first().textContent()).toMatch(/demos.*auto.*1.*3 \(0 under the current version\).*crm/);
    await screenshot(page, "profiles");

    await row.first().getByRole("link", { name: "demos" }).click();
    await page.waitForURL(`${service.url}/console/profiles/demos`);
    const variables = page.getByRole("table", { name: "Variables" });
    await expect.poll(() => variables.textContent()).toContain("The plan (basic or pro) the customer asks to see a demo of");
    expect(await variables.textContent()).toContain("basic, pro");
    const versions = page.getByRole("table", { name: "Versions" }).locator("tbody tr");
    expect(await versions.allTextContents()).toEqual([expect.stringMatching(/\(current\)0$/), expect.stringMatching(/^[0-9a-f]{12}3$/)]);
    const destinations = await page.getByRole("list", { name: "Destinations" }).textContent();
    expect(destinations).toContain(`crm ${new URL(crm.url).host}`);
    // The host only: never the URL's path or query.
    expect(await page.content()).not.toMatch(/SECRETPATH|SECRETQUERY/);

    // The checkbox sits beside its label, on one line.
    const checkbox = page.getByLabel("Only calls extracted under an older version");
    const label = page.locator("label", { hasText: "Only calls extracted under an older version" });
    const [box, text] = [await checkbox.boundingBox(), await label.boundingBox()];
    expect(Math.abs(box!.y + box!.height / 2 - (text!.y + text!.height / 2))).toBeLessThan(4);

    await page.getByRole("button", { name: "Estimate a backfill" }).click();
    const estimate = page.getByRole("status", { name: "Estimate" });
    await expect.poll(() => estimate.textContent()).toContain("Calls to re-extract3");
    expect(await estimate.textContent()).toMatch(/Cost \(gpt-4o-mini\)\$0\.0\d{1,4}(?!\d)/);
    await screenshot(page, "profile-estimate");

    // The first re-extraction is held in the LLM: the run is in flight when it is cancelled.
    gate = new Promise((resolve) => (release = resolve));
    await page.getByRole("button", { name: "Run this backfill…" }).click();
    const confirm = page.getByRole("alertdialog", { name: "Run this backfill?" });
    expect(await confirm.textContent()).toMatch(/re-extracts 3 calls of demos .* for about \$0\.0\d+ with gpt-4o-mini/);
    await screenshot(page, "profile-backfill-confirm");
    await confirm.getByRole("button", { name: "Re-extract 3 calls" }).click();
    const progress = page.getByRole("region", { name: "Backfill progress" });
    await expect.poll(() => progress.getByRole("status").textContent()).toContain("0 of 3 calls re-extracted");
    // 3 live calls and 3 sampled by the dry run: the 7th request is the backfill's first call, held.
    await until(async () => llm.requests.length, (count) => count >= 7);
    await progress.getByRole("button", { name: "Cancel the backfill" }).click();
    await expect.poll(() => progress.locator("h2 .badge").textContent()).toBe("cancelled");
    expect(await progress.textContent()).toContain("Cancelled: calls not started never will be");
    gate = undefined;
    release();
    await screenshot(page, "profile-backfill-cancelled");

    // The call in flight finished; the two never started are what a new run re-extracts, to the end.
    await until(() => service.get("/v1/profiles/demos"), (res) => res.body.versions.find((entry: { current: boolean }) => entry.current).calls === 1);
    await page.getByRole("button", { name: "Estimate a backfill" }).click();
    await expect.poll(() => estimate.textContent()).toContain("Calls to re-extract2");
    await page.getByRole("button", { name: "Run this backfill…" }).click();
    await confirm.getByRole("button", { name: "Re-extract 2 calls" }).click();
    await expect.poll(() => progress.locator("h2 .badge").textContent(), { timeout: 10_000 }).toBe("done");
    expect(await progress.getByRole("status").textContent()).toContain("2 of 2 calls re-extracted");
    await screenshot(page, "profile-backfill-done");
    await page.context().close();
  });
});

describe("the rest of the loop", () => {
  it("loads a profile's variables into the playground, and shows the answer's confidence and review flags", async () => {
    const page = await newPage();
    await page.goto(`${service.url}/console/playground`);
    await page.getByRole("button", { name: "Load its variables" }).click();
    await expect.poll(() => page.getByLabel("Name of variable 1").inputValue()).toBe("plan");
    expect(await page.getByLabel("Options of variable 1, separated by commas").inputValue()).toBe("basic, pro");
    expect(await page.getByLabel("Name of variable 2").count()).toBe(0);
    await page.getByRole("button", { name: "Run extraction" }).click();
    const values = page.locator("table.values");
    // The playground's sample call (an AC repair) names no plan the script knows: "basic".
    await expect.poll(() => values.locator("tr#value-plan td.value .shown").textContent()).toBe("basic");
    const plan = await values.locator("tr#value-plan").textContent();
    expect(plan).toContain("low confidence");
    expect(plan).toMatch(/confidence 30%/);
    expect(await page.locator(".result .facts").textContent()).toContain("review: 1 value(s) flagged");
    await screenshot(page, "playground-profile-confidence");
    await page.context().close();
  });

  it("sends a destination a test built from its profile's variables", async () => {
    crm.script([{ status: 200, body: '{"received":"test"}' }]);
    const before = crm.requests.length;
    const page = await newPage();
    await page.goto(`${service.url}/console/destinations`);
    const card = page.getByRole("article", { name: "crm" });
    await expect.poll(() => card.getByLabel("Sample from").inputValue()).toBe("demos");
    await card.getByRole("button", { name: "Send a test payload to crm" }).click();
    await expect.poll(() => card.getByRole("status").textContent()).toContain("HTTP 200");
    const sample = JSON.parse(crm.requests[before]!.body);
    expect(sample.extracted_variables).toEqual({ status: true, summary: expect.any(String), plan: "basic" });
    await screenshot(page, "destinations-profile-test");
    await page.context().close();
  });
});
