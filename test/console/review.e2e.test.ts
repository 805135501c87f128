// The review queue in a real browser (Debian's Chromium) against the real service, the loopback LLM (one value scripted
// unsure through its token log-probabilities) and a loopback receiver: a held call is listed, its flagged value marked;
// a bad correction is refused naming the field; a correction approved is delivered with it; another call is skipped;
// a list of objects is edited item by item (an item added, a field edited, a bad field refused at the field).
// Screenshots land in test/console/screenshots/ (git-ignored) for a reviewer to look at.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autocallsPayload } from "../fixtures/calls.js";
import { ORDER_VARIABLES } from "../fixtures/orders.js";
import { buildConsole, launchBrowser, screenshot, watchedPages } from "../support/browser.js";
import { answerFor, requestedVariables, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

const TRANSCRIPT = "AI: Hello, this is Sarah from CoolAir.\nCustomer: My budget is 4,000 a month, and Wednesday the 17th works.\nAI: Booked, bye.";

const ORDER = {
  status: true,
  summary: "Filters ordered",
  contact: { name: "Dana", email: "dana@example.com" },
  items: [{ product: "filter", quantity: 2 }],
};

let consoleDir: string;
let browser: Browser;
let llm: FakeLlm;
let crm: Receiver;
let service: TestService;

beforeAll(async () => {
  [consoleDir, browser, llm, crm] = await Promise.all([buildConsole(), launchBrowser(), startFakeLlm(), startReceiver()]);
  llm.logprobs = "give";
  llm.script = (request) => {
    // The order profile is unsure of its summary, the other of its date: each call is held with one flag.
    const order = requestedVariables(request).includes("items");
    const unsure: Record<string, number> = order ? { summary: -1.6 } : { appointment_date: -1.6 };
    const values = order ? ORDER : { status: true, summary: "AC repair booked", budget: 4000, appointment_date: "2026-06-17" };
    return { json: answerFor(request, values), tokens: { uncertain: unsure } };
  };
  const config = join(mkdtempSync(join(tmpdir(), "debrief-console-review-")), "debrief.json");
  writeFileSync(
    config,
    JSON.stringify({
      profiles: {
        held: {
          variables: [
            { name: "budget", type: "number", description: "Monthly budget the customer states, in USD" },
            { name: "appointment_date", type: "date", description: "The date the visit is booked for" },
          ],
          destinations: ["crm"],
          evidence: false,
          review: { hold: true, min_confidence: 0.8 },
        },
        orders: {
          variables: ORDER_VARIABLES,
          destinations: ["crm"],
          evidence: false,
          review: { hold: true, min_confidence: 0.8 },
        },
      },
      destinations: { crm: { url: crm.url } },
    }),
  );
  service = await startTestService(
    { OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: config, DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true", DEBRIEF_LLM_MAX_RETRIES: "0", DEBRIEF_CACHE: "false" },
    { consoleDir },
  );
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await service?.close();
  await Promise.all([llm?.close(), crm?.close()]);
});

const newPage = watchedPages(() => browser);

async function heldCall(id: number, profile = "held"): Promise<string> {
  const accepted = await service.post(`/v1/calls?profile=${profile}`, autocallsPayload({ id, transcript: TRANSCRIPT }));
  expect(accepted.status).toBe(202);
  const callId = accepted.body.call_id as string;
  const call = await until(() => service.get(`/v1/calls/${callId}`), (res) => res.body.state === "needs_review");
  expect(call.body.state).toBe("needs_review");
  return callId;
}

describe("the review queue", () => {
  it("lists a held call; its page marks the flagged value, refuses a bad correction by name, and delivers a good one", async () => {
    const callId = await heldCall(7001);
    const page = await newPage();
    await page.goto(`${service.url}/console/review`);
    const link = page.getByRole("link", { name: "7001" });
    await link.waitFor();
    await screenshot(page, "review-queue");
    await link.click();

    const review = page.getByRole("region", { name: "Review" });
    await review.waitFor();
    const field = review.locator(".review-field.flagged");
    expect(await field.count()).toBe(1);
    expect(await field.textContent()).toContain("appointment_date");
    expect(await field.textContent()).toContain("low confidence");
    // The values table marks the same row.
    expect(await page.locator("table.values tr.flagged th").allTextContents()).toEqual(["appointment_date"]);

    const date = page.getByLabel(/appointment_date/);
    await date.fill("next Thursday");
    await page.getByRole("button", { name: "Approve and deliver" }).click();
    const refused = page.getByRole("alert").filter({ hasText: "values.appointment_date" });
    await refused.waitFor();
    expect(await date.getAttribute("aria-invalid")).toBe("true");
    expect(crm.requests).toHaveLength(0);
    await screenshot(page, "review-refused");

    await date.fill("2026-06-18");
    await page.getByRole("button", { name: "Approve and deliver" }).click();
    await page.getByText("Approved by a reviewer").waitFor({ timeout: 10_000 });
    await crm.waitForRequests(1);
    const delivered = JSON.parse(crm.requests[0]!.body);
    expect(delivered.extracted_variables.appointment_date).toBe("2026-06-18");
    expect(delivered.debrief).toMatchObject({ event: "call.reviewed", reviewed: { corrected: ["appointment_date"] } });
    await page.getByText("corrected: appointment_date").waitFor();
    // The values shown are those delivered, with what the model had said.
    expect(await page.locator("table.values tr.flagged td.value").textContent()).toContain("2026-06-18");
    expect(await page.locator("table.values tr.flagged td.value").textContent()).toContain("the model said 2026-06-17");
    expect(await page.getByRole("region", { name: "Review" }).count()).toBe(0);
    await screenshot(page, "review-approved");
    expect((await service.get(`/v1/calls/${callId}`)).body.reviewed).toMatchObject({ approved: true, values: { appointment_date: "2026-06-18" } });
  }, 60_000);

  it("skips a held call with the reason typed", async () => {
    const callId = await heldCall(7002);
    const page = await newPage();
    await page.goto(`${service.url}/console/calls/${callId}`);
    await page.getByLabel("Why skip it?").fill("a test call from our own team");
    await page.getByRole("button", { name: "Skip the call" }).click();
    await page.getByText("Skipped by a reviewer").waitFor({ timeout: 10_000 });
    const call = await service.get(`/v1/calls/${callId}`);
    expect(call.body).toMatchObject({ state: "skipped", reason: "a test call from our own team" });
    await page.goto(`${service.url}/console/review`);
    await page.getByText("Nothing waits for review.").waitFor();
  }, 60_000);

  it("edits a list of objects item by item: adds an item, edits a field, refuses a bad one at the field, and delivers the edit", async () => {
    crm.requests.length = 0;
    const callId = await heldCall(7003, "orders");
    const page = await newPage();
    await page.goto(`${service.url}/console/calls/${callId}`);
    const review = page.getByRole("region", { name: "Review" });
    await review.waitFor();
    // The object shows its fields, the list its one item with its fields.
    expect(await review.getByLabel("contact.email", { exact: true }).inputValue()).toBe("dana@example.com");
    expect(await review.getByLabel("items[0].product", { exact: true }).inputValue()).toBe("filter");
    expect(await review.getByLabel("items[0].quantity", { exact: true }).inputValue()).toBe("2");

    await review.getByRole("button", { name: "Add item to items" }).click();
    await review.getByLabel("items[1].product", { exact: true }).selectOption("thermostat");
    const quantity = review.getByLabel("items[1].quantity", { exact: true });
    await quantity.fill("two");
    await review.getByLabel("items[0].quantity", { exact: true }).fill("3");
    await page.getByRole("button", { name: "Approve and deliver" }).click();
    // Refused in the browser, at the field, before anything is sent.
    await page.getByRole("alert").filter({ hasText: "values.items[1].quantity" }).waitFor();
    expect(await quantity.getAttribute("aria-invalid")).toBe("true");
    // The reason is shown at the field, and the input points to it.
    const described = await quantity.getAttribute("aria-describedby");
    expect(await review.locator(`[id="${described}"]`).textContent()).toBe("must be a whole number");
    expect(crm.requests).toHaveLength(0);
    expect((await service.get(`/v1/calls/${callId}`)).body.state).toBe("needs_review");
    await screenshot(page, "review-nested-refused");

    // An item added and removed again leaves nothing behind.
    await review.getByRole("button", { name: "Add item to items" }).click();
    await review.getByRole("button", { name: "Remove item items[2]" }).click();
    expect(await review.getByLabel("items[2].product", { exact: true }).count()).toBe(0);

    await quantity.fill("1");
    await page.getByRole("button", { name: "Approve and deliver" }).click();
    await page.getByText("Approved by a reviewer").waitFor({ timeout: 10_000 });
    await crm.waitForRequests(1);
    const delivered = JSON.parse(crm.requests[0]!.body);
    expect(delivered.extracted_variables.items).toEqual([
      { product: "filter", quantity: 3 },
      { product: "thermostat", quantity: 1 },
    ]);
    expect(delivered.extracted_variables.contact).toEqual(ORDER.contact);
    expect(delivered.debrief).toMatchObject({ event: "call.reviewed", reviewed: { corrected: ["items[0].quantity", "items[1].product", "items[1].quantity"] } });
    // The page shows the delivered list, and beside it what the model had said: the whole list, by the variable's name.
    const itemsRow = page.locator("table.values tr", { has: page.locator("th", { hasText: /^items/ }) }).first();
    await itemsRow.getByText("the model said").waitFor();
    expect(await itemsRow.textContent()).toContain('the model said [{"product":"filter","quantity":2}]');
    await screenshot(page, "review-nested-approved");
  }, 60_000);
});
