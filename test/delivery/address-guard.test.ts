import dns from "node:dns";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { createDeliveryDispatcher, createGuardedLookup, findRefusal, forbiddenAddressReason, refusedUrlReason } from "../../src/delivery/address-guard.js";
import { onCleanup, runCleanups, setupDelivery } from "./fixtures.js";
import { startReceiver } from "../support/receiver.js";

afterEach(runCleanups);

async function receiver() {
  const started = await startReceiver();
  onCleanup(() => started.close());
  return started;
}

describe("forbiddenAddressReason", () => {
  it.each([
    ["10.0.0.1", "private"],
    ["172.16.5.4", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["127.0.0.1", "loopback"],
    ["127.8.8.8", "loopback"],
    ["169.254.169.254", "link-local"],
    ["0.0.0.0", "unspecified"],
    ["100.64.0.1", "carrier-grade NAT"],
    ["100.100.100.200", "carrier-grade NAT"],
    ["168.63.129.16", "Azure"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fe80::1", "link-local"],
    ["fd00:ec2::254", "unique-local"],
    ["fc00::1", "unique-local"],
    ["::ffff:127.0.0.1", "IPv4-mapped"],
    ["::ffff:10.0.0.1", "IPv4-mapped"],
    ["64:ff9b::a00:1", "special-purpose"],
    ["2002:a00:1::", "special-purpose"],
    ["::7f00:1", "IPv4-compatible"],
    ["::a00:1", "IPv4-compatible"],
  ])("refuses %s (%s)", (address, kind) => {
    expect(forbiddenAddressReason(address)).toContain(kind);
  });

  it.each(["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111"])("allows the public address %s", (address) => {
    expect(forbiddenAddressReason(address)).toBeUndefined();
  });
});

describe("refusedUrlReason", () => {
  it("refuses http unless private destinations are allowed", () => {
    expect(refusedUrlReason("http://crm.example.com/hook", false)).toMatch(/must use https/);
    expect(refusedUrlReason("http://crm.example.com/hook", true)).toBeUndefined();
  });

  it.each(["https://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data/", "https://[fd00:ec2::254]/", "https://[::ffff:127.0.0.1]/", "https://127.1/", "https://0x7f.0.0.1/"])(
    "refuses %s before any connection",
    (url) => {
      expect(refusedUrlReason(url, false)).toMatch(/^refused to connect/);
      expect(refusedUrlReason(url, true)).toBeUndefined();
    },
  );

  it("leaves hostnames to the connect-time check", () => {
    expect(refusedUrlReason("https://crm.example.com/hook", false)).toBeUndefined();
  });
});

describe("createGuardedLookup", () => {
  const resolverFor =
    (...addresses: string[]) =>
    (_host: string, _options: dns.LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, a: dns.LookupAddress[]) => void) =>
      callback(null, addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })));

  function lookup(resolve: ReturnType<typeof resolverFor>, all: boolean) {
    return new Promise<{ err: Error | null; address: unknown }>((done) =>
      createGuardedLookup(resolve)("crm.example.com", { all }, (err, address) => done({ err, address })),
    );
  }

  it("refuses a hostname that resolves to a private address, even among public ones", async () => {
    for (const all of [true, false]) {
      const { err } = await lookup(resolverFor("93.184.216.34", "10.0.0.1"), all);
      expect(err?.message).toMatch(/crm\.example\.com resolves to 10\.0\.0\.1, a private address/);
    }
    expect((await lookup(resolverFor("169.254.169.254"), false)).err?.message).toMatch(/link-local/);
  });

  it("passes public addresses through in the shape net.connect asked for", async () => {
    expect(await lookup(resolverFor("93.184.216.34"), false)).toEqual({ err: null, address: "93.184.216.34" });
    expect(await lookup(resolverFor("93.184.216.34"), true)).toEqual({ err: null, address: [{ address: "93.184.216.34", family: 4 }] });
  });
});

describe("SSRF guard at connect time (loopback only)", () => {
  it("refuses localhost and loopback literals inside the dispatcher, before a socket is opened", async () => {
    const hook = await receiver();
    const dispatcher = createDeliveryDispatcher({ allowPrivate: false });
    onCleanup(() => dispatcher.close());
    for (const url of [`https://localhost:${hook.port}/hook`, `https://127.0.0.1:${hook.port}/hook`, `https://[::1]:${hook.port}/hook`]) {
      const error = await request(url, { method: "POST", body: "{}", dispatcher }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(findRefusal(error)?.message, url).toMatch(/^refused to connect: .*(loopback)/);
    }
    expect(hook.connections).toBe(0);
  });

  it("dead-letters refused destinations with a clear error and never contacts them", async () => {
    const hook = await receiver();
    const port = hook.port;
    const { outbox, worker } = setupDelivery(
      {
        plain: { url: `http://127.0.0.1:${port}/hook` },
        literal: { url: `https://127.0.0.1:${port}/hook` },
        v6: { url: `https://[::1]:${port}/hook` },
        named: { url: `https://localhost:${port}/hook` },
        metadata: { url: "https://169.254.169.254/latest/meta-data/" },
      },
      { worker: { allowPrivate: false } },
    );
    for (const destination of ["plain", "literal", "v6", "named", "metadata"]) await outbox.enqueue({ callId: "call_1", destination, payload: {} });
    await worker.tick();

    const byDestination = Object.fromEntries((await outbox.list()).map((d) => [d.destination, d]));
    expect(byDestination.plain).toMatchObject({ status: "failed", attempts: 1, last_status: null, last_error: expect.stringMatching(/must use https/) });
    expect(byDestination.literal!.last_error).toMatch(/127\.0\.0\.1 is a loopback address/);
    expect(byDestination.v6!.last_error).toMatch(/::1 is a loopback address/);
    expect(byDestination.named!.last_error).toMatch(/localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    expect(byDestination.metadata!.last_error).toMatch(/169\.254\.169\.254 is a link-local address/);
    expect(Object.values(byDestination).every((d) => d.status === "failed")).toBe(true);
    expect(hook.connections).toBe(0);
  });

  it("delivers to a loopback receiver when private destinations are allowed", async () => {
    const hook = await receiver();
    const { outbox, worker } = setupDelivery({ local: { url: `http://localhost:${hook.port}/hook` } }, { worker: { allowPrivate: true } });
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "local", payload: {} });
    await worker.tick();
    expect((await outbox.get(delivery.id))!.status).toBe("delivered");
  });
});
