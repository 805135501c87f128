// A loopback HTTP server that serves a model file the way Hugging Face does (Range requests, an optional redirect
// carrying X-Linked-Etag / X-Linked-Size), and misbehaves on demand: cut connections, a pause mid-file, errors.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ModelServerBehaviour {
  /** Destroy the socket after this many body bytes, for the first `cuts` responses. */
  cutAfterBytes?: number;
  cuts?: number;
  /** Send this many body bytes, then wait for `release()` before the rest. */
  pauseAfterBytes?: number;
  /** Answer every request with this status and no file. */
  status?: number;
  /** Ignore Range headers (always 200 with the whole file). */
  ignoreRange?: boolean;
  /** Serve /resolve/<name> as a 302 to /files/<name> carrying these headers, as Hugging Face does. */
  linked?: { etag?: string; size?: number };
}

export interface ModelServer {
  url: string;
  /** The URL to configure: /resolve/<name> (redirected when `linked` is set) or /files/<name>. */
  fileUrl(name: string): string;
  /** Every request's path and Range header, in order. */
  requests: { path: string; range: string | undefined }[];
  behaviour: ModelServerBehaviour;
  release(): void;
  close(): Promise<void>;
}

export function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export async function startModelServer(file: Buffer, behaviour: ModelServerBehaviour = {}): Promise<ModelServer> {
  const requests: ModelServer["requests"] = [];
  let released: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (released = resolve));
  let cutsLeft = behaviour.cuts ?? 0;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    requests.push({ path, range: req.headers.range });
    const b = server.behaviour;
    if (b.status) {
      res.writeHead(b.status).end("no");
      return;
    }
    if (path.startsWith("/resolve/") && b.linked) {
      const headers: Record<string, string> = { location: `/files/${path.slice("/resolve/".length)}` };
      if (b.linked.etag) headers["x-linked-etag"] = `"${b.linked.etag}"`;
      if (b.linked.size) headers["x-linked-size"] = String(b.linked.size);
      res.writeHead(302, headers).end();
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const start = range && !b.ignoreRange ? Number(range[1]) : 0;
    const body = file.subarray(start);
    res.writeHead(start > 0 ? 206 : 200, {
      "content-length": String(body.length),
      "accept-ranges": "bytes",
      ...(start > 0 ? { "content-range": `bytes ${start}-${file.length - 1}/${file.length}` } : {}),
    });
    if (b.cutAfterBytes !== undefined && cutsLeft > 0) {
      cutsLeft -= 1;
      res.write(body.subarray(0, b.cutAfterBytes));
      // Let the bytes leave before the connection drops, as a real cut mid-transfer would.
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    if (b.pauseAfterBytes !== undefined) {
      res.write(body.subarray(0, b.pauseAfterBytes));
      await gate;
      res.end(body.subarray(b.pauseAfterBytes));
      return;
    }
    res.end(body);
  };

  const server = Object.assign(
    createServer((req, res) => void handle(req, res)),
    { behaviour },
  ) as Server & { behaviour: ModelServerBehaviour };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    fileUrl: (name) => `${url}/${server.behaviour.linked ? "resolve" : "files"}/${name}`,
    requests,
    get behaviour() {
      return server.behaviour;
    },
    set behaviour(value: ModelServerBehaviour) {
      server.behaviour = value;
    },
    release: () => released(),
    close: () =>
      new Promise<void>((resolve) => {
        released();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
