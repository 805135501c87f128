import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileDestinations, SqliteOutbox, enqueueCallDeliveries } from "../../src/delivery/index.js";
import { onCleanup, runCleanups, setupDelivery } from "./fixtures.js";
import { startReceiver } from "../support/receiver.js";

afterEach(runCleanups);

const payload = {
  id: 12345,
  customer_phone: "+15555550123",
  duration: 125,
  status: "completed",
  extracted_variables: { status: true, summary: "Wants a demo", qualified: true },
};

describe("enqueueCallDeliveries", () => {
  it("enqueues the destinations whose `when` matches and sends the transformed body", async () => {
    const hook = await startReceiver();
    onCleanup(() => hook.close());
    const { outbox, worker, destinations } = setupDelivery({
      crm: {
        url: hook.url,
        when: "extracted_variables.status = true and duration > 60",
        transform: "{ 'phone': customer_phone, 'qualified': extracted_variables.qualified }",
      },
      long_calls: { url: hook.url, when: "duration > 600" },
      slack: { url: hook.url },
    });

    const report = await enqueueCallDeliveries({ outbox, destinations: destinations.values(), callId: "call_1", payload });
    expect(report.enqueued.map((d) => d.destination)).toEqual(["crm", "slack"]);
    expect(report.skipped).toEqual(["long_calls"]);
    expect(report.errors).toEqual([]);

    await worker.tick();
    const bodies = Object.fromEntries(hook.requests.map((r) => [r.headers["webhook-id"], JSON.parse(r.body)]));
    const [crm, slack] = report.enqueued;
    expect(bodies[crm!.webhook_id]).toEqual({ phone: "+15555550123", qualified: true });
    expect(bodies[slack!.webhook_id]).toEqual(payload);
  });

  it("is idempotent for the same call, and reports expression failures per destination", async () => {
    const { outbox, destinations } = setupDelivery({
      crm: { url: "https://crm.example.com" },
      broken: { url: "https://x.example.com", when: "$error('boom')" },
    });
    const first = await enqueueCallDeliveries({ outbox, destinations: destinations.values(), callId: "call_1", payload });
    const second = await enqueueCallDeliveries({ outbox, destinations: destinations.values(), callId: "call_1", payload });

    expect(second.enqueued).toEqual(first.enqueued);
    expect(await outbox.list()).toHaveLength(1);
    expect(first.errors).toEqual([{ destination: "broken", path: "destinations.broken.when", message: "destinations.broken.when: evaluation failed: boom" }]);
  });
});

describe("enqueueCallDeliveries when the outbox cannot write", () => {
  it("throws, so the caller does not record the call as handed over", async () => {
    const outbox = SqliteOutbox.open(join(mkdtempSync(join(tmpdir(), "debrief-enqueue-")), "outbox.sqlite"));
    const destinations = compileDestinations({ crm: { url: "https://crm.example.com/hook" } }, {});
    await outbox.close(); // every write now fails, as a full disk or a locked file would
    await expect(enqueueCallDeliveries({ outbox, destinations: destinations.values(), callId: "call_1", payload: { a: 1 } })).rejects.toThrow();
  });
});
