// Repeated identical failures (an outage) log once at once, then once per interval with how many were not logged.
import { describe, expect, it } from "vitest";
import { errorKind, throttleLogs, throttleWarnings } from "../../src/lib/throttled-warning.js";
import { captureLogs } from "../support/log-capture.js";
import { fakeClock } from "../delivery/fixtures.js";

describe("throttleLogs", () => {
  it("logs the first of a topic at once, then one line per interval carrying the count it held back", () => {
    const logs = captureLogs();
    const clock = fakeClock();
    const log = throttleLogs(logs.logger, { level: "error", intervalMs: 10_000, clock: clock.now });
    for (let n = 0; n < 500; n++) log("poll:ECONNREFUSED", { n }, "poll failed");
    clock.advance(9_999);
    log("poll:ECONNREFUSED", { n: 500 }, "poll failed");
    expect(logs.lines().map((line) => [line.level, line.n, line.suppressed])).toEqual([[50, 0, undefined]]);

    clock.advance(1);
    log("poll:ECONNREFUSED", { n: 501 }, "poll failed");
    log("poll:ECONNREFUSED", { n: 502 }, "poll failed");
    expect(logs.lines().map((line) => [line.level, line.n, line.suppressed])).toEqual([
      [50, 0, undefined],
      [50, 501, 500],
    ]);
  });

  it("never holds one kind of failure back behind another", () => {
    const logs = captureLogs();
    const log = throttleLogs(logs.logger, { intervalMs: 10_000, clock: fakeClock().now });
    log("poll:ECONNREFUSED", {}, "poll failed");
    log("poll:57P01", {}, "poll failed");
    log("poll:ECONNREFUSED", {}, "poll failed");
    expect(logs.lines().map((line) => line.level)).toEqual([40, 40]);
  });

  it("keeps throttleWarnings as it was: warn level, 30 s by default", () => {
    const logs = captureLogs();
    const clock = fakeClock();
    const warn = throttleWarnings(logs.logger, undefined, clock.now);
    warn("redis", {}, "down");
    clock.advance(29_999);
    warn("redis", {}, "down");
    clock.advance(1);
    warn("redis", {}, "down");
    expect(logs.lines().map((line) => [line.level, line.suppressed])).toEqual([
      [40, undefined],
      [40, 1],
    ]);
  });
});

describe("errorKind", () => {
  it("names a failure by its code, else its class, never by a message that may carry ids", () => {
    expect(errorKind(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }))).toBe("ECONNREFUSED");
    expect(errorKind(new TypeError("The database connection is not open"))).toBe("TypeError");
    expect(errorKind("text")).toBe("string");
  });
});
