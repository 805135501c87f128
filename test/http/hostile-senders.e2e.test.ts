// Three hostile senders at once (issue 21): 2 MB of nesting posted to a signed profile without a signature, with a
// well-formed wrong one, and with a valid API key to /v1/extract. Each gets its 401 or 400, and /healthz, probed every
// 20 ms, keeps answering throughout. How fast it answers is measured by the bench (`npm run bench -- --only=10`), not here.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { signAs } from "../support/platform-signing.js";
import { startTestService, type TestService } from "../support/service.js";

const API_KEY = "dbr_live_hostile_2b4d6f8a";
const RETELL_KEY = "key_RetellHostile_1c3e5a7b";
const HOSTILE = `${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}`;
/** Probes answered while the senders run before they stop (each sends at least a few requests, at most 60). */
const PROBES = 25;

let llm: FakeLlm;
let service: TestService;

beforeAll(async () => {
  llm = await startFakeLlm();
  const config = join(mkdtempSync(join(tmpdir(), "debrief-hostile-")), "debrief.json");
  writeFileSync(config, JSON.stringify({ profiles: { signed: { source: "retell", inbound: { secret: RETELL_KEY } } } }));
  service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: config, DEBRIEF_API_KEYS: API_KEY, DEBRIEF_RATE_LIMIT: "0" });
}, 60_000);

afterAll(async () => {
  await service?.close();
  await llm?.close();
});

describe("three senders of 2 MB of nesting", () => {
  it("each gets its 401 or 400, and /healthz answers every probe meanwhile", async () => {
    const probes: number[] = [];
    let sending = true;
    const prober = (async () => {
      while (sending) {
        const res = await fetch(`${service.url}/healthz`);
        await res.arrayBuffer();
        probes.push(res.status);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const senders: [string, string, Record<string, string>][] = [
      ["unsigned", "/v1/calls?profile=signed", {}],
      ["wrongly signed", "/v1/calls?profile=signed", signAs("retell", HOSTILE, "key_not_the_retell_key", Date.now())],
      ["with an API key", "/v1/extract", { authorization: `Bearer ${API_KEY}` }],
    ];
    let answers: string[][];
    try {
      answers = await Promise.all(
        senders.map(async ([name, path, headers]) => {
          const seen: string[] = [];
          for (let sent = 0; sent < 60 && (sent < 3 || probes.length < PROBES); sent += 1) {
            const res = await fetch(`${service.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: HOSTILE });
            seen.push(`${res.status} ${((await res.json()) as { error: { code: string } }).error.code}`);
          }
          return seen;
        }),
      );
    } finally {
      sending = false;
      await prober;
    }
    const [unsigned, wronglySigned, withKey] = answers;
    expect(new Set(unsigned)).toEqual(new Set(["401 invalid_signature"]));
    expect(new Set(wronglySigned)).toEqual(new Set(["401 invalid_signature"]));
    expect(new Set(withKey)).toEqual(new Set(["400 invalid_request"]));
    expect(probes.length).toBeGreaterThanOrEqual(PROBES);
    expect(probes.every((status) => status === 200)).toBe(true);
  }, 120_000);
});
