// The console in a real browser (Debian's Chromium), against the real service with the loopback LLM and a loopback
// receiver: a failed delivery retried from the call's page, the playground's highlighted evidence, and signing in.
// Screenshots land in test/console/screenshots/ (git-ignored) for a reviewer to look at.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { autocallsPayload } from "../fixtures/calls.js";
import { buildConsole, launchBrowser, screenshot, watchedPages } from "../support/browser.js";
import { answerFor, requestedVariables, startFakeLlm, userMessage, type FakeLlm, type RecordedRequest } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

const KEY = "dbr_console_browser_7d3f9a1c5e2b8d4f";

/** The model's answer: every requested variable, with evidence for those given (null for the rest). */
function answer(request: RecordedRequest, values: Record<string, unknown>, evidence: Record<string, { quote: string; turn: number }>) {
  const schema = request.body.response_format?.json_schema?.schema as { properties?: Record<string, unknown> } | undefined;
  if (schema?.properties?.evidence === undefined) return answerFor(request, values);
  return answerFor(request, values, Object.fromEntries(requestedVariables(request).map((name) => [name, evidence[name] ?? null])));
}

/** While true, the LLM answers 503 to calls that mention the Basic plan. */
let basicPlanOutage = false;
/** While true, the post-call answer is the Basic plan. */
let basicPlanAnswer = false;

/** The playground's sample call (web/src/pages/playground.tsx) and a post-call webhook answered differently. */
function script(request: RecordedRequest) {
  if (basicPlanOutage && userMessage(request).includes("Basic plan")) return { status: 503 };
  if (requestedVariables(request).includes("budget")) {
    return {
      json: answer(
        request,
        { status: true, summary: "AC repair booked for Wednesday", budget: 4000, service_type: "repair", appointment_date: "2026-06-17", decision_maker: false },
        {
          budget: { quote: "my boss capped it at four thousand", turn: 1 },
          service_type: { quote: "We need the AC repaired", turn: 1 },
          appointment_date: { quote: "make that Wednesday", turn: 3 },
          decision_maker: { quote: "my boss capped it", turn: 1 },
        },
      ),
    };
  }
  return {
    json: answer(request, { status: true, summary: "Demo booked", plan: basicPlanAnswer ? "basic" : "pro" }, { plan: { quote: "I'd like a demo of the Pro plan", turn: 1 } }),
  };
}

function writeConfig(crm: Receiver, description = "The plan the customer wants a demo of", file = join(mkdtempSync(join(tmpdir(), "debrief-console-")), "debrief.json")): string {
  writeFileSync(
    file,
    JSON.stringify({
      profiles: {
        demos: {
          system_prompt: "Book product demos.",
          variables: [{ name: "plan", type: "enum", options: ["basic", "pro"], description }],
          destinations: ["crm"],
        },
      },
      // A 400 is final: the delivery fails at once, no retry wait.
      destinations: { crm: { url: crm.url, retry: { max_attempts: 2, initial_delay_ms: 100, max_delay_ms: 200 } } },
      // One attempt: an LLM outage fails the extraction at once, for the replay test.
      extraction: { retry: { max_attempts: 1, initial_delay_ms: 100, max_delay_ms: 200 } },
    }),
  );
  return file;
}

let consoleDir: string;
let browser: Browser;
let llm: FakeLlm;
let crm: Receiver;
let service: TestService;
let guarded: TestService;
let configFile: string;

beforeAll(async () => {
  [consoleDir, browser, llm, crm] = await Promise.all([buildConsole(), launchBrowser(), startFakeLlm(script), startReceiver()]);
  configFile = writeConfig(crm);
  const env = { OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: configFile, DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true", DEBRIEF_LLM_MAX_RETRIES: "0" };
  [service, guarded] = await Promise.all([
    startTestService(env, { consoleDir }),
    startTestService({ ...env, DEBRIEF_API_KEYS: KEY }, { consoleDir }),
  ]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([service?.close(), guarded?.close()]);
  await Promise.all([llm?.close(), crm?.close()]);
});

const newPage = watchedPages(() => browser);

/** Posts a call and waits until the API shows it in `state`. */
async function callIn(state: string, id: number, overrides: Record<string, unknown> = {}): Promise<string> {
  const accepted = await service.post("/v1/calls?profile=demos", autocallsPayload({ id, ...overrides }));
  expect(accepted.status).toBe(202);
  const callId = accepted.body.call_id as string;
  const call = await until(() => service.get(`/v1/calls/${callId}`), (res) => res.body.state === state);
  expect(call.body.state).toBe(state);
  return callId;
}

describe("calls", () => {
  it("lists a delivered call and a failed one; the failed one's page says why, and a retry turns it delivered", async () => {
    crm.script([{ status: 200, body: '{"ok":true}' }]);
    const delivered = await callIn("delivered", 2001);
    crm.script([{ status: 400, body: '{"error":"unknown field: plan"}' }]);
    const failed = await callIn("delivery_failed", 2002);
    crm.script([{ status: 200, body: '{"ok":true}' }]);

    const page = await newPage();
    await page.goto(`${service.url}/console/`);
    const rows = page.locator("table.list tbody tr");
    await expect.poll(() => rows.count()).toBe(2);
    // Newest first, each with the platform's own id, its state, profile, source and duration.
    expect(await rows.nth(0).textContent()).toMatch(/2002.*delivery failed.*demos.*autocalls.*2:05/);
    expect(await rows.nth(1).textContent()).toMatch(/2001.*delivered.*demos.*autocalls.*2:05/);
    await screenshot(page, "calls");

    // The list filters by state, and the filter stays in the address.
    await page.getByRole("group", { name: "State" }).getByLabel("delivery failed").check();
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.waitForURL(/state=delivery_failed/);
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain("2002");

    await rows.first().getByRole("link").click();
    await page.waitForURL(`${service.url}/console/calls/${failed}`);
    const crmFate = page.getByRole("article", { name: "Destination crm" });
    await expect.poll(() => crmFate.locator(":scope > header .badge").textContent()).toBe("failed");
    expect(await page.getByRole("alert").textContent()).toContain("crm: failed");
    const delivery = crmFate.getByRole("region", { name: "Delivery to crm" });
    expect(await delivery.locator("table.attempts tbody tr").count()).toBe(1);
    expect(await delivery.locator("table.attempts tbody tr").first().textContent()).toContain("400");
    await delivery.getByText("Last response body").click();
    expect(await delivery.locator("pre").textContent()).toContain("unknown field: plan");
    // The transcript, with the value's quote highlighted.
    expect(await page.locator('mark[data-names~="plan"]').textContent()).toBe("I'd like a demo of the Pro plan");
    await screenshot(page, "call-failed");

    await delivery.getByRole("button", { name: "Retry now" }).click();
    await expect.poll(() => crmFate.locator(":scope > header .badge").textContent(), { timeout: 10_000 }).toBe("delivered");
    await expect.poll(() => page.locator(".title-row .badge").textContent()).toBe("delivered");
    expect(await delivery.locator("table.attempts tbody tr").count()).toBe(2);
    expect(await page.getByRole("alert").count()).toBe(0);
    await screenshot(page, "call-retried");

    // Back on the list, both calls are delivered now; a page at a time, older ones by cursor.
    await page.goto(`${service.url}/console/?limit=1`);
    await expect.poll(() => page.locator("table.list tbody tr").allTextContents()).toEqual([expect.stringMatching(/^2002.*delivered/)]);
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Older" }).click();
    await expect.poll(() => page.locator("table.list tbody tr").allTextContents()).toEqual([expect.stringMatching(/^2001.*delivered/)]);
    expect(await page.getByRole("link", { name: "Older" }).count()).toBe(0);
    await page.getByRole("link", { name: "Newest" }).click();
    await expect.poll(() => page.locator("table.list tbody tr").allTextContents()).toEqual([expect.stringMatching(/^2002/)]);
    expect(delivered).not.toBe(failed);
    await page.context().close();
  });
});

describe("a call whose extraction failed", () => {
  it("says why, and replaying it once the LLM is back extracts and delivers it", async () => {
    basicPlanOutage = true;
    const transcript = [
      { text: "Hello! This is Sarah from Autocalls.", type: "transcript", sender: "bot", timestamp: 1756812511.3 },
      { text: "I'd like the Basic plan, please.", type: "transcript", sender: "human", timestamp: 1756812514.1 },
    ];
    const id = await callIn("extraction_failed", 2003, { transcript });
    basicPlanOutage = false;

    const page = await newPage();
    await page.goto(`${service.url}/console/calls/${id}`);
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("Extraction failed after 1 attempt(s)");
    expect(await page.getByRole("alert").textContent()).toContain("503");
    await screenshot(page, "call-extraction-failed");

    await page.getByRole("button", { name: "Replay the call" }).click();
    await expect.poll(() => page.locator(".title-row .badge").textContent(), { timeout: 10_000 }).toBe("delivered");
    expect(await page.locator("table.values tr#value-plan td.value .shown").textContent()).toBe("pro");
    await page.context().close();
  });
});

describe("destinations", () => {
  it("shows each destination's health, and sends a test with the receiver's answer", async () => {
    crm.script([{ status: 202, body: '{"received":"test"}' }]);
    const page = await newPage();
    await page.goto(`${service.url}/console/destinations`);
    const card = page.getByRole("article", { name: "crm" });
    await expect.poll(() => card.locator("dl.counts").textContent()).toContain("Delivered (24 h)");
    await card.getByRole("button", { name: "Send a test payload to crm" }).click();
    const result = card.getByRole("status");
    await expect.poll(() => result.textContent()).toContain("HTTP 202");
    expect(await result.textContent()).toContain('{"received":"test"}');
    await screenshot(page, "destinations");
    crm.script([{ status: 200, body: '{"ok":true}' }]);
    await page.context().close();
  });
});

describe("the playground", () => {
  it("runs the sample call and highlights each value's evidence, linked both ways", async () => {
    const page = await newPage();
    await page.goto(`${service.url}/console/playground`);
    await page.getByRole("button", { name: "Run extraction" }).click();

    const values = page.locator("table.values");
    await expect.poll(() => values.locator("tr#value-budget td.value .shown").textContent()).toBe("4000");
    expect(await values.locator("tr#value-service_type td:first-of-type").textContent()).toBe("enum");
    // Each quote is a highlight in its turn; two overlap in the second turn.
    const budget = page.locator('mark[data-names~="budget"]');
    expect(await budget.allTextContents()).toEqual(["my boss capped it", " at four thousand"]);
    expect(await page.locator('mark[data-names~="service_type"]').textContent()).toBe("We need the AC repaired");

    // Hovering a quote shows its value and marks its row.
    const wednesday = page.locator('mark[data-names~="appointment_date"]');
    await wednesday.hover();
    await expect.poll(() => values.locator("tr#value-appointment_date").getAttribute("class")).toBe("active");
    expect(await wednesday.evaluate((mark) => mark.ownerDocument.defaultView!.getComputedStyle(mark, "::after").content)).toBe('"appointment_date: 2026-06-17"');

    // Clicking a value takes you to its quote.
    await values.getByRole("button", { name: "service_type" }).click();
    await expect.poll(() => page.evaluate("document.activeElement?.textContent")).toBe("We need the AC repaired");
    // The flash starts on the next animation frame.
    await expect.poll(() => page.locator('mark[data-names~="service_type"]').getAttribute("class")).toContain("flash");
    await screenshot(page, "playground");

    // The copied curl command runs as it is, and the YAML is the table's variables.
    const curl = await page.locator(".copy-block", { hasText: "The request as curl" }).locator("pre").textContent();
    const { stdout } = await promisify(execFile)("sh", ["-c", curl!]);
    expect(JSON.parse(stdout).extracted_variables).toMatchObject({ budget: 4000, service_type: "repair" });
    const yaml = await page.locator(".copy-block", { hasText: "profile (YAML)" }).locator("pre").textContent();
    expect(parseYaml(yaml!).variables.map((variable: { name: string }) => variable.name)).toEqual(["budget", "service_type", "appointment_date", "decision_maker"]);
    await page.context().close();
  });

  it("shows the API's error code and the field it names", async () => {
    const page = await newPage();
    await page.goto(`${service.url}/console/playground`);
    await page.getByLabel("Type of variable 2").selectOption("enum");
    await page.getByLabel("Options of variable 2, separated by commas").fill("");
    await page.getByRole("button", { name: "Run extraction" }).click();
    const error = page.getByRole("alert");
    await expect.poll(() => error.textContent()).toContain("invalid_request");
    expect(await error.textContent()).toContain("variables[1].options");
    await screenshot(page, "playground-error");
    await page.context().close();
  });
});

describe("with auth on", () => {
  it("asks for a key, refuses a wrong one, and signs in with a right one", async () => {
    const page = await newPage();
    // Before anyone signed in, the console asks the API nothing: no 401 in the browser's console.
    const refused: string[] = [];
    page.on("response", (response) => {
      if (response.status() === 401) refused.push(response.url());
    });
    await page.goto(`${guarded.url}/console/`);
    await page.waitForURL(/\/console\/sign-in\?next=%2Fconsole%2F$/);
    await page.getByLabel("API key").waitFor();
    expect(refused).toEqual([]);
    await page.getByLabel("API key").fill("dbr_wrong_key_0000000000000000");
    await page.getByRole("button", { name: "Sign in" }).click();
    const refusal = page.getByRole("alert");
    await expect.poll(() => refusal.textContent()).toContain("That key was refused.");
    expect(await refusal.textContent()).toContain("unauthorized");
    await screenshot(page, "sign-in-refused");

    await page.getByLabel("API key").fill(KEY);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${guarded.url}/console/`);
    expect(await page.evaluate('sessionStorage.getItem("debrief.apiKey")')).toBe(KEY);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/console\/sign-in/);
    expect(await page.evaluate('sessionStorage.getItem("debrief.apiKey")')).toBeNull();

    // A key taken out of DEBRIEF_API_KEYS: the first 401 forgets it and asks again, coming back to the same page after.
    await page.evaluate('sessionStorage.setItem("debrief.apiKey", "dbr_revoked_key_000000000000000")');
    await page.goto(`${guarded.url}/console/destinations`);
    await page.waitForURL(/\/console\/sign-in\?next=%2Fconsole%2Fdestinations$/);
    expect(await page.evaluate('sessionStorage.getItem("debrief.apiKey")')).toBeNull();
    await page.context().close();
  });

  it("lets /docs/ load the guarded document with the console's key, and sends a tab without one to sign in", async () => {
    const page = await newPage();
    const documentRequests: (string | undefined)[] = [];
    page.on("request", (request) => {
      if (request.url().endsWith("/openapi.json")) documentRequests.push(request.headers().authorization);
    });
    await page.goto(`${guarded.url}/docs/`);
    await page.waitForURL(/\/console\/sign-in\?next=%2Fdocs%2F$/);
    expect(documentRequests).toEqual([undefined]);

    await page.getByLabel("API key").fill(KEY);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${guarded.url}/docs/`);
    await page.locator(".opblock-summary-path", { hasText: "/v1/extract" }).first().waitFor();
    expect(documentRequests.at(-1)).toBe(`Bearer ${KEY}`);
    await screenshot(page, "docs-signed-in");
    await page.context().close();
  });
});

// Last in the file: it changes the profile, as a team editing its variables does.
describe("a call re-extracted after a profile change", () => {
  it("shows its extraction history, newest first, with what changed and whether it was delivered", async () => {
    crm.script([{ status: 200, body: '{"ok":true}' }]);
    const id = await callIn("delivered", 2099);
    writeConfig(crm, "The plan the customer chose; basic when unsure", configFile);
    expect((await service.post("/v1/admin/reload", {})).status).toBe(200);
    basicPlanAnswer = true;
    const reextracted = await service.post(`/v1/calls/${id}/reextract`, { redeliver: true });
    basicPlanAnswer = false;
    expect(reextracted.body).toMatchObject({ stored: true, event: 2, changed: ["plan"] });

    const page = await newPage();
    await page.goto(`${service.url}/console/calls/${id}`);
    const history = page.locator("table.history tbody tr");
    await expect.poll(() => history.count()).toBe(2);
    expect(await history.nth(0).textContent()).toMatch(/^2.*a re-extraction.*as event 2.*plan: pro → basic$/);
    expect(await history.nth(1).textContent()).toMatch(/^1.*the call arriving.*as event 1.*first extraction$/);
    expect(await page.locator("section[aria-labelledby=history-heading] p").textContent()).toContain("current version");
    await page.context().close();
  });
});
