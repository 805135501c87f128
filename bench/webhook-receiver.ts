// The CRM stand-in for the delivery section: a loopback webhook receiver, its own process, that notes when each
// call's enriched payload arrives (epoch ms, comparable across processes). Prints `{"port": N}` once listening.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const received: { id: string; at: number; bytes: number; signed: boolean }[] = [];
/** Long-polls of `GET /__bench/wait?id=…`, answered when that call's webhook arrives (or after 30 s). */
const waiters = new Map<string, (() => void)[]>();

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/__bench/received") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(received));
    return;
  }
  const wait = /^\/__bench\/wait\?id=([\w-]+)$/.exec(req.url ?? "");
  if (req.method === "GET" && wait) {
    const id = wait[1]!;
    const answer = () => {
      clearTimeout(timer);
      const entry = received.find((candidate) => candidate.id === id);
      res.writeHead(entry ? 200 : 404, { "content-type": "application/json" }).end(JSON.stringify(entry ?? null));
    };
    const timer = setTimeout(answer, 30_000);
    if (received.some((candidate) => candidate.id === id)) answer();
    else waiters.set(id, [...(waiters.get(id) ?? []), answer]);
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const at = performance.timeOrigin + performance.now();
    const text = Buffer.concat(chunks).toString("utf8");
    let id = "";
    try {
      id = String((JSON.parse(text) as { id?: unknown }).id ?? "");
    } catch {
      // not JSON: recorded without an id
    }
    received.push({ id, at, bytes: text.length, signed: typeof req.headers["webhook-signature"] === "string" });
    res.writeHead(204).end();
    for (const answer of waiters.get(id) ?? []) answer();
    waiters.delete(id);
  });
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on("SIGTERM", () => process.exit(0));
// The bench holds our stdin open; when it goes away, however it died, so do we.
process.stdin.on("end", () => process.exit(0)).resume();
