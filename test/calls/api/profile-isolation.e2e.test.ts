// A key bound to profiles sees only them, on both engines: other profiles answer 404 profile_not_found (the same answer
// as an unknown one), their calls 404, and lists, exports, caller memory, deliveries and backfills leave them out.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autocallsPayload } from "../../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../../support/fake-llm.js";
import { until } from "../../support/poll.js";
import { createTestDatabase, type TestDatabase } from "../../support/postgres.js";
import { startReceiver, type Receiver } from "../../support/receiver.js";
import { startTestService, type TestService } from "../../support/service.js";

const ADMIN = { authorization: "Bearer dbr_isolation_admin_0123456789abcd" };
const DESK_KEY = "dbr_isolation_desk_0123456789abcdef";
const DESK = { authorization: `Bearer ${DESK_KEY}` };
const INGEST_KEY = "dbr_isolation_ingest_0123456789abcd";

let llm: FakeLlm;
let crm: Receiver;
const databases: TestDatabase[] = [];

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request) }));
  crm = await startReceiver();
});
afterAll(async () => {
  await llm?.close();
  await crm?.close();
  await Promise.all(databases.map((database) => database.drop()));
});

function configFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), "debrief-isolation-")), "debrief.json");
  const profile = { variables: [{ name: "plan", type: "string", description: "The plan the customer wants" }], destinations: ["crm"], default_region: "US" };
  writeFileSync(
    file,
    JSON.stringify({
      profiles: { dental: profile, hvac: profile },
      destinations: { crm: { url: crm.url } },
      keys: {
        "front-desk": { key: "${DESK_KEY}", scopes: ["calls:read", "calls:review", "calls:reanalyze", "destinations"], profiles: ["dental"] },
        ingest: { key: "${INGEST_KEY}", scopes: ["calls:write"], profiles: ["dental"] },
      },
    }),
  );
  return file;
}

describe.each([{ engine: "sqlite" }, { engine: "postgres" }])("a key bound to one profile, on $engine", ({ engine }) => {
  let api: TestService;
  const calls: Record<"dental" | "hvac", string> = { dental: "", hvac: "" };

  beforeAll(async () => {
    const database = engine === "postgres" ? await createTestDatabase() : undefined;
    if (database) databases.push(database);
    api = await startTestService({
      OPENAI_BASE_URL: llm.url,
      DEBRIEF_CONFIG: configFile(),
      DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
      DEBRIEF_CACHE: "false",
      DEBRIEF_API_KEYS: ADMIN.authorization.slice("Bearer ".length),
      DESK_KEY,
      INGEST_KEY,
      ...(database ? { DEBRIEF_DATABASE_URL: database.url } : {}),
    });
    for (const profile of ["dental", "hvac"] as const) {
      const res = await api.post(`/v1/calls?profile=${profile}`, autocallsPayload({ id: `${profile}-1` }), ADMIN);
      expect(res.status).toBe(202);
      calls[profile] = res.body.call_id;
      await until(() => api.get(`/v1/calls/${res.body.call_id}`, ADMIN), (call) => call.body.state === "delivered", 20_000);
    }
  }, 60_000);
  afterAll(async () => api?.close());

  it("lists only its profile's calls, and answers 404 profile_not_found for another profile as for an unknown one", async () => {
    expect((await api.get("/v1/calls", DESK)).body.calls.map((call: { call_id: string }) => call.call_id)).toEqual([calls.dental]);
    expect((await api.get("/v1/calls", ADMIN)).body.calls).toHaveLength(2);
    expect((await api.get("/v1/calls?profile=dental", DESK)).body.calls).toHaveLength(1);
    const other = await api.get("/v1/calls?profile=hvac", DESK);
    const unknown = await api.get("/v1/calls?profile=plumbing", DESK);
    expect(other.status).toBe(404);
    expect(other.body.error).toEqual({ ...unknown.body.error, message: 'No profile named "hvac"' });
    expect(unknown.body.error.code).toBe("profile_not_found");
  });

  it("answers 404 for a call of another profile, exactly as for a call that does not exist, whatever the operation", async () => {
    expect((await api.get(`/v1/calls/${calls.dental}`, DESK)).status).toBe(200);
    const hidden = await api.get(`/v1/calls/${calls.hvac}`, DESK);
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.code).toBe("not_found");
    for (const action of ["review", "reextract", "retry"]) {
      const res = await api.post(`/v1/calls/${calls.hvac}/${action}`, action === "review" ? { approve: true } : {}, DESK);
      expect(res.status, action).toBe(404);
    }
  });

  it("exports and reads caller memory for its profile only", async () => {
    expect((await api.get("/v1/calls/export?profile=dental&format=eval", DESK)).status).toBe(200);
    expect((await api.get("/v1/calls/export?profile=hvac&format=eval", DESK)).body.error.code).toBe("profile_not_found");
    expect((await api.get("/v1/callers/+15551234567?profile=dental", DESK)).body.calls).toHaveLength(1);
    expect((await api.get("/v1/callers/+15551234567?profile=hvac", DESK)).body.error.code).toBe("profile_not_found");
  });

  it("shows only its profile in the profiles list and pages, and backfills only it", async () => {
    expect((await api.get("/v1/profiles", DESK)).body.profiles.map((profile: { name: string }) => profile.name)).toEqual(["dental"]);
    expect((await api.get("/v1/profiles/hvac", DESK)).body.error.code).toBe("profile_not_found");
    expect((await api.post("/v1/profiles/hvac/backfill", { dry_run: true }, DESK)).body.error.code).toBe("profile_not_found");
    expect((await api.post("/v1/profiles/dental/backfill", { dry_run: true }, DESK)).status).toBe(200);
    const started = await api.post("/v1/profiles/hvac/backfill", { only_outdated: false }, ADMIN);
    expect(started.status).toBe(202);
    expect((await api.get(`/v1/backfills/${started.body.backfill_id}`, DESK)).status).toBe(404);
    expect((await api.post(`/v1/backfills/${started.body.backfill_id}/cancel`, undefined, DESK)).status).toBe(404);
  });

  it("lists and opens only its profile's calls' deliveries, and test-sends with its profile only", async () => {
    const all = (await api.get("/v1/deliveries", ADMIN)).body.deliveries as { id: string; call_id: string }[];
    const mine = (await api.get("/v1/deliveries", DESK)).body.deliveries as { id: string; call_id: string }[];
    expect(mine.map((delivery) => delivery.call_id)).toEqual(all.filter((delivery) => delivery.call_id === calls.dental).map((delivery) => delivery.call_id));
    expect(mine.length).toBeGreaterThan(0);
    const theirs = all.find((delivery) => delivery.call_id === calls.hvac)!;
    expect((await api.get(`/v1/deliveries/${theirs.id}`, DESK)).status).toBe(404);
    expect((await api.post(`/v1/deliveries/${theirs.id}/retry`, undefined, DESK)).status).toBe(404);
    expect((await api.post("/v1/destinations/crm/test?profile=hvac", undefined, DESK)).body.error.code).toBe("profile_not_found");
  });

  it("posts calls only to its profiles, and its refusal names no other profile", async () => {
    const ingest = { authorization: `Bearer ${INGEST_KEY}` };
    expect((await api.post("/v1/calls?profile=dental", autocallsPayload({ id: "dental-ingest" }), ingest)).status).toBe(202);
    const refused = await api.post("/v1/calls?profile=hvac", autocallsPayload({ id: "hvac-ingest" }), ingest);
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual([{ path: "profile", message: "must name a configured profile: dental" }]);
    expect(JSON.stringify(refused.body.error.details)).not.toContain("hvac");
  });

  it("says who it is at GET /v1/me", async () => {
    expect((await api.get("/v1/me", DESK)).body).toEqual({
      auth: true,
      name: "front-desk",
      scopes: ["calls:read", "calls:review", "calls:reanalyze", "destinations"],
      profiles: ["dental"],
    });
  });
});
