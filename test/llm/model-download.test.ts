// Downloading the local model: against a loopback server serving the tiny GGUF, with progress, resumes after cut
// connections and restarts, and refusals of a file whose size or hash is wrong.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { downloadModel, ModelDownloadError, type DownloadProgress } from "../../src/llm/model-download.js";
import { sha256, startModelServer, type ModelServer } from "../support/model-server.js";
import { tinyGguf } from "../support/tiny-gguf.js";

const FILE = tinyGguf({ seed: 7 });
const FAST = { retryDelayMs: 10, idleTimeoutMs: 5_000 };

let server: ModelServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function destination(): string {
  return join(mkdtempSync(join(tmpdir(), "debrief-download-")), "models", "tiny.gguf");
}

describe("downloading the local model", () => {
  it("writes the whole file, reporting progress up to its size", async () => {
    server = await startModelServer(FILE);
    const to = destination();
    const progress: DownloadProgress[] = [];
    await downloadModel({ url: server.fileUrl("tiny.gguf"), destination: to, onProgress: (p) => progress.push(p), ...FAST });
    expect(readFileSync(to).equals(FILE)).toBe(true);
    expect(progress.at(-1)).toEqual({ downloadedBytes: FILE.length, totalBytes: FILE.length });
    expect(progress.every((p, i) => i === 0 || p.downloadedBytes >= progress[i - 1]!.downloadedBytes)).toBe(true);
    expect(existsSync(`${to}.part`)).toBe(false);
  });

  it("resumes with a Range request after the connection is cut mid-file", async () => {
    server = await startModelServer(FILE, { cutAfterBytes: 100_000, cuts: 1 });
    const to = destination();
    await downloadModel({ url: server.fileUrl("tiny.gguf"), destination: to, ...FAST });
    expect(readFileSync(to).equals(FILE)).toBe(true);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[0]!.range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(server.requests[1]!.range ?? "")?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(100_000);
  });

  it("keeps what arrived when every attempt fails, and the next start continues from there", async () => {
    server = await startModelServer(FILE, { cutAfterBytes: 50_000, cuts: 2 });
    const to = destination();
    const url = server.fileUrl("tiny.gguf");
    await expect(downloadModel({ url, destination: to, ...FAST, attempts: 2 })).rejects.toThrow(/connection (broke|ended)/);
    const kept = statSync(`${to}.part`).size;
    expect(kept).toBeGreaterThan(0);
    expect(existsSync(to)).toBe(false);

    await downloadModel({ url, destination: to, ...FAST });
    expect(readFileSync(to).equals(FILE)).toBe(true);
    expect(server.requests.at(-1)!.range).toBe(`bytes=${kept}-`);
  });

  it("starts over when the server ignores the range and sends the whole file again", async () => {
    server = await startModelServer(FILE, { cutAfterBytes: 30_000, cuts: 1, ignoreRange: true });
    const to = destination();
    await downloadModel({ url: server.fileUrl("tiny.gguf"), destination: to, ...FAST });
    expect(readFileSync(to).equals(FILE)).toBe(true);
  });

  it("refuses a file whose SHA-256 is not the expected one, and deletes it", async () => {
    server = await startModelServer(FILE);
    const to = destination();
    const wrong = "0".repeat(64);
    const download = downloadModel({ url: server.fileUrl("tiny.gguf"), destination: to, sha256: wrong, ...FAST });
    await expect(download).rejects.toThrow(ModelDownloadError);
    await expect(download).rejects.toThrow(`not the expected ${wrong}`);
    expect(existsSync(to)).toBe(false);
    expect(existsSync(`${to}.part`)).toBe(false);
  });

  it("accepts the file when the expected SHA-256 matches", async () => {
    server = await startModelServer(FILE);
    const to = destination();
    await downloadModel({ url: server.fileUrl("tiny.gguf"), destination: to, sha256: sha256(FILE), ...FAST });
    expect(readFileSync(to).equals(FILE)).toBe(true);
  });

  it("checks the hash a Hugging Face style redirect announces (X-Linked-Etag) when none is configured", async () => {
    server = await startModelServer(FILE, { linked: { etag: "f".repeat(64), size: FILE.length } });
    const to = destination();
    await expect(downloadModel({ url: server.fileUrl("tiny.gguf"), destination: to, ...FAST })).rejects.toThrow(`not the expected ${"f".repeat(64)}`);

    server.behaviour = { linked: { etag: sha256(FILE), size: FILE.length } };
    await downloadModel({ url: server.fileUrl("tiny.gguf"), destination: to, ...FAST });
    expect(readFileSync(to).equals(FILE)).toBe(true);
    expect(server.requests.map((r) => r.path)).toContain("/files/tiny.gguf");
  });

  it("gives up at once on a 404, naming the status", async () => {
    server = await startModelServer(FILE, { status: 404 });
    await expect(downloadModel({ url: server.fileUrl("tiny.gguf"), destination: destination(), ...FAST })).rejects.toThrow("answered HTTP 404");
    expect(server.requests).toHaveLength(1);
  });

  it("says it could not reach the host when nothing listens (an offline machine)", async () => {
    const download = downloadModel({ url: "http://127.0.0.1:1/models/tiny.gguf", destination: destination(), ...FAST, attempts: 2 });
    await expect(download).rejects.toThrow(/could not reach 127\.0\.0\.1:1/);
  });

  it("does not continue a part left by another URL", async () => {
    server = await startModelServer(FILE);
    const to = destination();
    mkdirSync(dirname(to), { recursive: true });
    writeFileSync(`${to}.part`, Buffer.alloc(1000, 7));
    writeFileSync(`${to}.part.json`, JSON.stringify({ url: "http://elsewhere.invalid/x.gguf", totalBytes: FILE.length }));
    await downloadModel({ url: server.fileUrl("tiny.gguf"), destination: to, ...FAST });
    expect(readFileSync(to).equals(FILE)).toBe(true);
    expect(server.requests.at(-1)!.range).toBeUndefined();
  });
});
