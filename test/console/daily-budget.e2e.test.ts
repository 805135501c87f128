// The console's view of a profile's daily LLM budget in a real browser (Debian's Chromium) against the real service:
// the profile page shows today's spend against the budget, in the profile's time zone, and says when it is reached;
// the calls list filters on waiting_for_budget and shows the call that waits. Screenshots land in test/console/screenshots/.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autocallsPayload } from "../fixtures/calls.js";
import { buildConsole, launchBrowser, screenshot, watchedPages } from "../support/browser.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { startTestService, type TestService } from "../support/service.js";

let browser: Browser;
let llm: FakeLlm;
let service: TestService;

beforeAll(async () => {
  let consoleDir: string;
  [consoleDir, browser, llm] = await Promise.all([
    buildConsole(),
    launchBrowser(),
    startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "Demo booked" }) })),
  ]);
  const config = join(mkdtempSync(join(tmpdir(), "debrief-console-budget-")), "debrief.json");
  writeFileSync(
    config,
    JSON.stringify({
      profiles: {
        // gpt-4o-mini: the fake LLM's 100 prompt and 20 completion tokens cost $0.000027, over this budget.
        capped: { variables: [], budget: { daily_usd: 0.00002, on_exceeded: "wait" }, timezone: "Europe/Paris" },
        open: { variables: [], budget: { daily_usd: 20 } },
      },
    }),
  );
  service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: config, DEBRIEF_LLM_MAX_RETRIES: "0", DEBRIEF_CACHE: "false" }, { consoleDir });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await service?.close();
  await llm?.close();
});

const newPage = watchedPages(() => browser);

async function postCall(profile: string, id: number): Promise<string> {
  const accepted = await service.post(`/v1/calls?profile=${profile}`, autocallsPayload({ id }));
  expect(accepted.status).toBe(202);
  return accepted.body.call_id as string;
}

describe("a profile's daily budget in the console", () => {
  it("shows today's spend under the budget, then reached with what happens now, and lists the call that waits", async () => {
    const page = await newPage();
    await page.goto(`${service.url}/console/profiles/open`);
    const open = page.getByRole("region", { name: "Daily budget" });
    await expect.poll(() => open.textContent()).toContain("$0.00 of $20.00 today (UTC)");
    expect(await open.getByRole("status").textContent()).toContain("Once reached, calls are still extracted");

    const spent = await postCall("capped", 4101);
    expect((await until(() => service.get(`/v1/calls/${spent}`), (res) => res.body.state === "extracted")).body.state).toBe("extracted");
    const waiting = await postCall("capped", 4102);
    expect((await until(() => service.get(`/v1/calls/${waiting}`), (res) => res.body.state === "waiting_for_budget")).body.state).toBe("waiting_for_budget");

    await page.goto(`${service.url}/console/profiles/capped`);
    const capped = page.getByRole("region", { name: "Daily budget" });
    await expect.poll(() => capped.textContent()).toContain("$0.000027 of $0.00002 today (Europe/Paris)");
    expect(await capped.textContent()).toContain("reached");
    expect(await capped.getByRole("status").textContent()).toMatch(/^Reached: new calls wait \(waiting for budget\) and backfills pause until .+, or until a reload raises the budget\.$/);
    expect(await capped.getByRole("meter").getAttribute("aria-valuenow")).toBe("0.000027");
    await screenshot(page, "profile-daily-budget");

    await page.goto(`${service.url}/console/calls`);
    await page.getByRole("group", { name: "State" }).getByLabel("waiting for budget").check();
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.waitForURL(/state=waiting_for_budget/);
    await expect.poll(() => page.locator("table.list tbody tr").count()).toBe(1);
    const row = page.locator("table.list tbody tr").first();
    expect(await row.textContent()).toContain("waiting for budget");
    expect(await row.getByRole("link").first().getAttribute("href")).toBe(`/console/calls/${waiting}`);
    expect(await row.locator(".badge").first().getAttribute("class")).toContain("badge-busy");

    // The call's page says what it waits for, and until when.
    await row.getByRole("link").first().click();
    const fact = page.getByText("Waiting for its profile's daily LLM budget");
    await fact.waitFor();
    expect(await page.locator("dl").textContent()).toMatch(/Waiting for its profile's daily LLM budgetin \d+ (h|min).*extracted then, or sooner if a reload raises the budget/);
    await screenshot(page, "call-waiting-for-budget");
  });
});
