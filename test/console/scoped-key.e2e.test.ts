// The console signed in with a read-only key bound to one profile, in a real browser (Debian's Chromium): it offers only
// what the key may do (no Review, Destinations or Playground; no review form, backfill or replay) and never shows
// another profile's calls or the profile itself.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autocallsPayload } from "../fixtures/calls.js";
import { buildConsole, launchBrowser, screenshot, watchedPages } from "../support/browser.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { startTestService, type TestService } from "../support/service.js";

const ADMIN = { authorization: "Bearer dbr_console_admin_0123456789abcdef" };
const READER_KEY = "dbr_console_reader_0123456789abcde";
const TRANSCRIPT = "AI: Hello, this is Sarah from CoolAir.\nCustomer: Wednesday the 17th works.\nAI: Booked, bye.";

let consoleDir: string;
let browser: Browser;
let llm: FakeLlm;
let service: TestService;
const calls: Record<string, string> = {};

beforeAll(async () => {
  [consoleDir, browser, llm] = await Promise.all([buildConsole(), launchBrowser(), startFakeLlm()]);
  llm.logprobs = "give";
  llm.script = (request) => ({ json: answerFor(request, { status: true, summary: "Visit booked", appointment_date: "2026-06-17" }), tokens: { uncertain: { appointment_date: -1.6 } } });
  const variables = [{ name: "appointment_date", type: "date", description: "The date the visit is booked for" }];
  const config = join(mkdtempSync(join(tmpdir(), "debrief-console-scoped-")), "debrief.json");
  writeFileSync(
    config,
    JSON.stringify({
      profiles: {
        dental: { variables, evidence: false, review: { hold: true, min_confidence: 0.8 } },
        hvac: { variables, evidence: false },
      },
      keys: { "crm-reader": { key: "${READER_KEY}", scopes: ["calls:read"], profiles: ["dental"] } },
    }),
  );
  service = await startTestService(
    { OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: config, DEBRIEF_API_KEYS: ADMIN.authorization.slice(7), READER_KEY, DEBRIEF_CACHE: "false" },
    { consoleDir },
  );
  for (const [profile, id, state] of [["dental", 8101, "needs_review"], ["hvac", 8102, "extracted"]] as const) {
    const accepted = await service.post(`/v1/calls?profile=${profile}`, autocallsPayload({ id, transcript: TRANSCRIPT }), ADMIN);
    calls[profile] = accepted.body.call_id;
    await until(() => service.get(`/v1/calls/${accepted.body.call_id}`, ADMIN), (res) => res.body.state === state, 20_000);
  }
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await service?.close();
  await llm?.close();
});

const newPage = watchedPages(() => browser);

async function signedIn(): Promise<Page> {
  const page = await newPage();
  await page.goto(`${service.url}/console/sign-in?next=/console/`);
  await page.getByLabel("API key").fill(READER_KEY);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "8101" }).waitFor();
  return page;
}

describe("the console with a read-only key bound to one profile", () => {
  it("offers only the pages the key may use, and lists only its profile's calls", async () => {
    const page = await signedIn();
    const nav = page.getByRole("navigation", { name: "Console" });
    await nav.getByRole("link", { name: "Profiles" }).waitFor();
    for (const hidden of ["Review", "Destinations", "Playground"]) expect(await nav.getByRole("link", { name: hidden }).count(), hidden).toBe(0);
    expect(await nav.getByRole("link", { name: "Calls" }).count()).toBe(1);
    expect(await page.getByRole("link", { name: "8102" }).count()).toBe(0);
    expect(await page.getByText("hvac").count()).toBe(0);
    await screenshot(page, "scoped-key-calls");
  });

  it("shows a held call without the review form, and its profile without the backfill", async () => {
    const page = await signedIn();
    await page.goto(`${service.url}/console/calls/${calls.dental}`);
    await page.getByText("needs review").first().waitFor();
    expect(await page.getByRole("button", { name: "Approve and deliver" }).count()).toBe(0);
    await page.goto(`${service.url}/console/profiles`);
    await page.getByRole("link", { name: "dental" }).first().waitFor();
    expect(await page.getByText("hvac").count()).toBe(0);
    await page.goto(`${service.url}/console/profiles/dental`);
    await page.getByText("appointment_date").first().waitFor();
    expect(await page.getByRole("button", { name: "Estimate a backfill" }).count()).toBe(0);
    await screenshot(page, "scoped-key-profile");
  });
});
