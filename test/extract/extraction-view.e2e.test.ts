// The console's extraction view (web/src/components/extraction-view.tsx) shows a nested value's leaves, each with its
// quote, confidence and flags, under its variable: a real browser on a call extracted by the real pipeline.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autocallsPayload } from "../fixtures/calls.js";
import { buildConsole, launchBrowser, screenshot } from "../support/browser.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { startTestService, type TestService } from "../support/service.js";
import { CONTACT, ORDER } from "./nested-variables.js";

const TRANSCRIPT = [
  { text: "Thanks for calling Brightline Supply.", type: "transcript", sender: "bot", timestamp: 1756812511.3 },
  { text: "Hi, this is Ana Ortiz. Two NT-450 filters, please.", type: "transcript", sender: "human", timestamp: 1756812514.1 },
  { text: "Where should the receipt go?", type: "transcript", sender: "bot", timestamp: 1756812518.2 },
  { text: "ana.ortiz@example.com, thanks.", type: "transcript", sender: "human", timestamp: 1756812521.9 },
];

const VARIABLES = [CONTACT, ORDER];

let consoleDir: string;
let browser: Browser;
let llm: FakeLlm;
let service: TestService;

beforeAll(async () => {
  [consoleDir, browser, llm] = await Promise.all([buildConsole(), launchBrowser(), startFakeLlm()]);
  llm.logprobs = "give";
  llm.script = (request) => ({
    json: answerFor(
      request,
      { status: true, summary: "Filters ordered", contact: { name: "Ana Ortiz", email: "ana.ortiz@example.com" }, items: [{ product: "NT-450 filter", quantity: 2 }] },
      {
        contact: [{ path: "contact.email", quote: "ana.ortiz@example.com", turn: 3 }],
        items: [{ path: "items[0].quantity", quote: "Two NT-450 filters", turn: 1 }],
      },
    ),
    tokens: { uncertain: { email: -1.5 } },
  });
  const file = join(mkdtempSync(join(tmpdir(), "debrief-leaves-")), "debrief.json");
  writeFileSync(file, JSON.stringify({ profiles: { orders: { variables: VARIABLES } } }));
  service = await startTestService({ OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test-key", DEBRIEF_CONFIG: file, DEBRIEF_LLM_MAX_RETRIES: "0" }, { consoleDir });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await service?.close();
  await llm?.close();
});

describe("a nested value in the console", () => {
  it("has a row per judged leaf, named by its path, with its quote, confidence and flags", async () => {
    const accepted = await service.post("/v1/calls?profile=orders", autocallsPayload({ id: 4001, transcript: TRANSCRIPT }));
    expect(accepted.status).toBe(202);
    const id = accepted.body.call_id as string;
    const call = await until(() => service.get(`/v1/calls/${id}`), (res) => res.body.state === "extracted" || res.body.state === "delivered");
    expect(call.body.review.fields).toEqual({ "contact.email": ["low_confidence"] });

    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    const errors: Error[] = [];
    page.on("pageerror", (error) => errors.push(error));
    await page.goto(`${service.url}/console/calls/${id}`);
    const email = page.locator('table.values tr[id="value-contact.email"]');
    await expect.poll(() => email.locator("td.value .shown").textContent()).toBe("ana.ortiz@example.com");
    expect(await email.getAttribute("class")).toContain("flagged");
    expect(await email.locator(".judgement").textContent()).toMatch(/low confidence.*confidence 22%/);
    expect(await email.locator("td.evidence").textContent()).toBe("ana.ortiz@example.com");
    const quantity = page.locator('table.values tr[id="value-items[0].quantity"]');
    expect(await quantity.locator("td.evidence").textContent()).toBe("Two NT-450 filters");
    expect(await quantity.locator(".judgement").textContent()).toMatch(/confidence 100%/);
    // The leaves follow their variable's row, in the value's order.
    const rows = await page.locator("table.values tbody tr th").allTextContents();
    expect(rows.indexOf("contact.name")).toBe(rows.indexOf("contact") + 1);
    expect(rows.indexOf("contact.email")).toBe(rows.indexOf("contact") + 2);
    expect(rows.slice(rows.indexOf("items"), rows.indexOf("items") + 3)).toEqual(["items", "items[0].product", "items[0].quantity"]);
    // Clicking a leaf takes you to its quote.
    await email.getByRole("button", { name: "contact.email" }).click();
    await expect.poll(() => page.evaluate("document.activeElement?.textContent")).toBe("ana.ortiz@example.com");
    await screenshot(page, "call-nested-leaves");
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
