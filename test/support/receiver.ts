// A scripted webhook receiver on 127.0.0.1 for delivery tests: records every request, answers from a script.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface ScriptedResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Answer after this many milliseconds. */
  delayMs?: number;
  /** Never answer (a receiver that hangs). */
  hang?: boolean;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** TCP connections accepted: 0 proves a refused destination was never contacted. */
  readonly connections: number;
  /** Most requests in progress at once. */
  readonly maxConcurrent: number;
  /** Replace the responses for requests from now on (the last entry repeats). */
  script(responses: ScriptedResponse[]): void;
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(", ") : (value ?? "")]));
}

export async function startReceiver(initial: ScriptedResponse[] = [{ status: 200 }]): Promise<Receiver> {
  let responses = initial;
  let offset = 0;
  let connections = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      requests.push({ method: req.method ?? "", path: req.url ?? "", headers: flatten(req.headers), body: Buffer.concat(chunks).toString("utf8") });
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      res.on("close", () => concurrent--);
      const step = responses[Math.min(requests.length - 1 - offset, responses.length - 1)] ?? { status: 200 };
      if (step.hang) return;
      const answer = () => {
        res.writeHead(step.status ?? 200, step.headers);
        res.end(step.body ?? "ok");
      };
      if (step.delayMs) setTimeout(answer, step.delayMs);
      else answer();
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    requests,
    get connections() {
      return connections;
    },
    get maxConcurrent() {
      return maxConcurrent;
    },
    script(next) {
      responses = next;
      offset = requests.length;
    },
    async waitForRequests(count, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count) {
        if (Date.now() > deadline) throw new Error(`receiver got ${requests.length} requests, expected ${count}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
