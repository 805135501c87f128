// The playground's variables table authoring rich variables in a real browser (Debian's Chromium), against the real
// service and the loopback LLM: an order with a list of line items and a contact e-mail built row by row, sent as the
// nested schema the model is given; a 400 about a nested field shown at its row; a profile's rich variables loaded
// into nested rows and copied back out as the same YAML. Screenshots land in test/console/screenshots/ (git-ignored).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ORDER_VARIABLES } from "../fixtures/orders.js";
import { buildConsole, launchBrowser, screenshot, watchedPages } from "../support/browser.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { startTestService, type TestService } from "../support/service.js";

const TRANSCRIPT = [
  "Agent: Thanks for calling CoolAir Parts, what can I get you?",
  "Customer: Two NT-450 filters and one thermostat.",
  "Agent: Where should the receipt go?",
  "Customer: ana@example.com, please.",
].join("\n");

const ORDER = {
  status: true,
  summary: "Two filters and a thermostat ordered",
  line_items: [
    { product: "NT-450 filter", quantity: 2 },
    { product: "thermostat", quantity: 1 },
  ],
  contact_email: "ana@example.com",
};

/** The variables the test types into the table, as /v1/extract must receive them. */
const ORDER_REQUEST = [
  {
    name: "line_items",
    type: "list",
    description: "Each product ordered",
    items: {
      type: "object",
      fields: [
        { name: "product", type: "string", description: "The product as named" },
        { name: "quantity", type: "integer", description: "How many", examples: [2, 10] },
      ],
    },
  },
  { name: "contact_email", type: "string", format: "email", description: "Where the receipt goes" },
];

let consoleDir: string;
let browser: Browser;
let llm: FakeLlm;
let service: TestService;

beforeAll(async () => {
  [consoleDir, browser, llm] = await Promise.all([buildConsole(), launchBrowser(), startFakeLlm()]);
  llm.script = (request) => ({ json: answerFor(request, ORDER) });
  const config = join(mkdtempSync(join(tmpdir(), "debrief-console-playground-")), "debrief.json");
  writeFileSync(
    config,
    JSON.stringify({
      profiles: { orders: { variables: ORDER_VARIABLES, destinations: ["crm"] } },
      destinations: { crm: { url: "https://crm.example.com/hook" } },
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

/** The playground with its table emptied and the order call as the transcript. */
async function emptyPlayground(): Promise<Page> {
  const page = await newPage();
  await page.goto(`${service.url}/console/playground`);
  await page.getByLabel("Transcript", { exact: true }).fill(TRANSCRIPT);
  const first = page.getByRole("button", { name: /^Remove variable 1\b/ });
  await first.waitFor();
  while ((await first.count()) > 0) await first.click();
  return page;
}

/** Types the order into the table, control by control, as a person would (the labels are what a screen reader says). */
async function typeOrder(page: Page): Promise<void> {
  const label = (text: string) => page.getByLabel(text, { exact: true });
  await page.getByRole("button", { name: "Add a variable" }).click();
  await label("Name of variable 1").fill("line_items");
  await label("Type of variable 1").selectOption("list");
  await label("Description of variable 1").fill("Each product ordered");
  await label("Items of variable 1").selectOption("object");
  // A list of objects opens a nested table with one field row.
  await label("Name of field 1 of line_items[]").fill("product");
  await label("line_items[].product description").fill("The product as named");
  await page.getByRole("button", { name: "Add a field to line_items[]" }).click();
  await label("Name of field 2 of line_items[]").fill("quantity");
  await label("line_items[].quantity type").selectOption("integer");
  await label("line_items[].quantity description").fill("How many");
  await label("line_items[].quantity examples, one per line").fill("2\n10");

  await page.getByRole("button", { name: "Add a variable" }).click();
  await label("Name of variable 2").fill("contact_email");
  await label("Format of variable 2").selectOption("email");
  await label("Description of variable 2").fill("Where the receipt goes");
}

describe("the playground's rich variables", () => {
  it("builds an order with line items and an e-mail in the table, sends it as nested variables, and shows the result", async () => {
    const page = await emptyPlayground();
    await typeOrder(page);

    const sent: unknown[] = [];
    page.on("request", (request) => {
      if (request.method() === "POST" && request.url().endsWith("/v1/extract")) sent.push(request.postDataJSON());
    });
    const asked = llm.requests.length;
    await page.getByRole("button", { name: "Run extraction" }).click();
    const values = page.locator("table.values");
    await values.locator("tr#value-contact_email").waitFor();

    // The request is what the table holds, and the model was given the nested schema.
    expect(sent).toHaveLength(1);
    expect((sent[0] as { variables: unknown }).variables).toEqual(ORDER_REQUEST);
    const schema = llm.requests.at(-1)!.body.response_format!.json_schema!.schema as any;
    expect(llm.requests.length).toBe(asked + 1);
    const lineItems = JSON.stringify(schema.properties.values.properties.line_items);
    const item = findObjectWith(schema.properties.values.properties.line_items, "quantity");
    expect(item, lineItems).toBeDefined();
    expect(Object.keys(item!.properties)).toEqual(["product", "quantity"]);
    expect(JSON.stringify(item!.properties.quantity)).toContain('"integer"');
    expect(JSON.stringify(item!.properties.product)).toContain('"string"');
    expect(JSON.stringify(schema.properties.values.properties.contact_email)).toContain('"format":"email"');

    // The result, as on a call's page: the e-mail and each line's fields.
    expect(await values.locator("tr#value-contact_email").textContent()).toContain("ana@example.com");
    const shown = await values.textContent();
    for (const text of ["NT-450 filter", "thermostat"]) expect(shown).toContain(text);
    await screenshot(page, "playground-rich");

    // What is copied out is the same variables: the curl command's body and the profile YAML.
    const curl = (await page.locator(".copy-block", { hasText: "The request as curl" }).locator("pre").textContent())!;
    const body = JSON.parse(curl.slice(curl.indexOf("'{") + 1, curl.lastIndexOf("}'") + 1).replaceAll(`'\\''`, "'"));
    expect(body.variables).toEqual(ORDER_REQUEST);
    const yaml = await page.locator(".copy-block", { hasText: "profile (YAML)" }).locator("pre").textContent();
    expect(parseYaml(yaml!)).toEqual({ variables: ORDER_REQUEST });
    await page.context().close();
  }, 60_000);

  it("shows the API's 400 about a nested field at that field's row", async () => {
    const page = await emptyPlayground();
    await typeOrder(page);
    // A look-ahead RE2 cannot compile.
    await page.getByLabel("line_items[].product pattern", { exact: true }).fill("^(?=NT)");
    await page.getByRole("button", { name: "Run extraction" }).click();
    const alert = page.getByRole("alert");
    await expect.poll(() => alert.textContent()).toContain("variables[0].items.fields[0].pattern");
    // The control the path names is marked, and says why.
    const pattern = page.getByLabel("line_items[].product pattern", { exact: true });
    expect(await pattern.getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByLabel("Name of field 1 of line_items[]", { exact: true }).getAttribute("aria-invalid")).toBeNull();
    const said = page.getByRole("list", { name: "What the service said about line_items[].product" });
    expect(await said.textContent()).toMatch(/^variables\[0\]\.items\.fields\[0\]\.pattern .*does not compile/);
    expect(await pattern.getAttribute("aria-describedby")).toBe(await said.getAttribute("id"));
    await screenshot(page, "playground-rich-error");
    // Fixing the row takes the message off it (the error box above still says what the service said).
    await pattern.fill("^NT");
    await expect.poll(() => said.count()).toBe(0);
    expect(await pattern.getAttribute("aria-invalid")).toBeNull();
    await page.context().close();
  }, 60_000);

  it("loads a profile's objects and lists of objects into nested rows, and copies them out unchanged", async () => {
    const page = await newPage();
    await page.goto(`${service.url}/console/playground`);
    await page.getByRole("button", { name: "Load its variables" }).click();
    const label = (text: string) => page.getByLabel(text, { exact: true });
    await expect.poll(() => label("Name of variable 1").inputValue()).toBe("contact");
    expect(await label("Type of variable 1").inputValue()).toBe("object");
    expect(await label("Name of field 2 of contact").inputValue()).toBe("email");
    expect(await label("contact.email format").inputValue()).toBe("email");
    expect(await label("Items of variable 2").inputValue()).toBe("object");
    expect(await label("items[].product type").inputValue()).toBe("enum");
    expect(await label("items[].product options, separated by commas").inputValue()).toBe("filter, thermostat, duct");
    expect(await label("items[].quantity type").inputValue()).toBe("integer");
    const yaml = await page.locator(".copy-block", { hasText: "profile (YAML)" }).locator("pre").textContent();
    expect(parseYaml(yaml!)).toEqual({ variables: ORDER_VARIABLES });

    // Every control is reached with the keyboard: from the first name, Tab walks through to the nested fields' rows.
    await label("Name of variable 1").focus();
    const reached = new Set<string>();
    for (let step = 0; step < 60; step += 1) {
      await page.keyboard.press("Tab");
      reached.add((await page.evaluate('document.activeElement?.getAttribute("aria-label") ?? ""')) as string);
    }
    for (const name of ["Type of variable 1", "contact.email format", "Add a field to contact", "Items of variable 2", "items[].quantity type"]) expect(reached).toContain(name);
    await page.context().close();
  }, 60_000);

  it("imports a JSON Schema with nested objects and arrays into nested rows, and copies out what the service converted", async () => {
    const page = await emptyPlayground();
    const definition = {
      type: "object",
      properties: {
        order: {
          type: "object",
          description: "The order",
          properties: {
            email: { type: "string", format: "email", description: "Where the receipt goes" },
            lines: { type: "array", description: "Each line", items: { type: "object", properties: { sku: { type: "string", pattern: "^[A-Z]{2}-\\d{3}$", description: "Code" } } } },
          },
        },
      },
    };
    await page.getByText("Import another platform's definition").click();
    await page.locator("details.import-definition select").selectOption("json_schema");
    await page.getByLabel("The definition, as JSON").fill(JSON.stringify(definition));
    const answered = page.waitForResponse((response) => response.url().endsWith("/v1/variables/convert"));
    await page.getByRole("button", { name: "Convert into the table" }).click();
    const converted = (await (await answered).json()) as { variables: unknown[] };
    const label = (text: string) => page.getByLabel(text, { exact: true });
    await expect.poll(() => label("Name of variable 1").inputValue()).toBe("order");
    expect(await label("order.email format").inputValue()).toBe("email");
    expect(await label("order.lines items").inputValue()).toBe("object");
    expect(await label("order.lines[].sku pattern").inputValue()).toBe("^[A-Z]{2}-\\d{3}$");
    const yaml = await page.locator(".copy-block", { hasText: "profile (YAML)" }).locator("pre").textContent();
    expect(parseYaml(yaml!)).toEqual({ variables: converted.variables });
    await page.context().close();
  }, 60_000);

  it("nests objects 3 levels deep at most: a 3rd level's fields offer no object, nor a list of objects", async () => {
    const page = await emptyPlayground();
    const label = (text: string) => page.getByLabel(text, { exact: true });
    await page.getByRole("button", { name: "Add a variable" }).click();
    await label("Name of variable 1").fill("a");
    await label("Type of variable 1").selectOption("object");
    await label("Name of field 1 of a").fill("b");
    await label("a.b type").selectOption("object");
    await label("Name of field 1 of a.b").fill("c");
    await label("a.b.c type").selectOption("object");
    const options = (control: string) => label(control).locator("option").evaluateAll((all) => all.map((option) => (option as unknown as { value: string }).value));
    expect(await options("a.b.c.field 1 type")).not.toContain("object");
    await label("a.b.c.field 1 type").selectOption("list");
    expect(await options("a.b.c.field 1 items")).not.toContain("object");
    expect(await options("a.b.c.field 1 items")).toContain("string");
    await page.context().close();
  }, 60_000);
});

/** The object schema under `schema` (through arrays, anyOf, nullable types) whose properties include `key`. */
function findObjectWith(schema: unknown, key: string): { properties: Record<string, unknown> } | undefined {
  if (schema === null || typeof schema !== "object") return undefined;
  const node = schema as Record<string, unknown>;
  if (node.properties && typeof node.properties === "object" && key in node.properties) return node as { properties: Record<string, unknown> };
  for (const child of Object.values(node)) {
    const found = Array.isArray(child) ? child.map((entry) => findObjectWith(entry, key)).find(Boolean) : findObjectWith(child, key);
    if (found) return found;
  }
  return undefined;
}
