// The call store's record of where a call came from and what the platform said of it, including for calls stored
// by a Debrief that did not yet tell platforms apart.
import Database from "better-sqlite3";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CallStore } from "../../src/calls/index.js";

const FACTS = {
  completed: true,
  started_at: "2026-01-01T12:00:00.114Z",
  ended_at: "2026-01-01T12:02:01.480Z",
  duration_s: 121.366,
  customer_phone: "+15555550142",
  agent_phone: "+15555550100",
  recording_url: null,
};

describe("the call store", () => {
  it("keeps a call's source and facts", () => {
    const store = CallStore.open(join(mkdtempSync(join(tmpdir(), "debrief-store-")), "calls.sqlite"));
    const { call } = store.accept({ profile: "p", source: "vapi", externalId: "v-1", call: FACTS, payload: { message: {} }, state: "accepted" });
    expect(store.get(call.id)).toMatchObject({ source: "vapi", external_id: "v-1", call: FACTS });
    store.close();
  });

  it("reads a call stored before sources existed as an Autocalls call with unknown facts", () => {
    const file = join(mkdtempSync(join(tmpdir(), "debrief-store-")), "calls.sqlite");
    const old = new Database(file);
    old.exec(`CREATE TABLE calls (id TEXT PRIMARY KEY, profile TEXT NOT NULL, external_id TEXT NOT NULL, state TEXT NOT NULL, reason TEXT,
      payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER, claimed_until INTEGER, last_error TEXT,
      extraction TEXT, delivery_errors TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, UNIQUE (profile, external_id))`);
    old.prepare("INSERT INTO calls (id, profile, external_id, state, payload, created_at, updated_at) VALUES ('call_old', 'p', '7', 'skipped', '{}', 1, 1)").run();
    old.pragma("user_version = 1");
    old.close();

    const store = CallStore.open(file);
    expect(store.get("call_old")).toMatchObject({ source: "autocalls", call: null, state: "skipped" });
    store.close();
  });
});
