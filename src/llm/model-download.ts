// Fetches a model file once: resumable (a `.part` file continued with a Range request, after a cut connection or a
// restart), checked against its size and SHA-256, and moved into place only once it is whole and verified.
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { open } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { request, type Dispatcher } from "undici";

export interface DownloadProgress {
  downloadedBytes: number;
  /** Undefined until the server has said how large the file is. */
  totalBytes: number | undefined;
}

export interface DownloadOptions {
  url: string;
  destination: string;
  /** Expected SHA-256 (hex). Without it, a 64-hex `X-Linked-Etag` from the server (Hugging Face sends one) is used. */
  sha256?: string;
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
  /** Connections tried before giving up (each resumes where the last stopped). Default 5. */
  attempts?: number;
  /** Wait before the second attempt, doubling after each. Default 1 s. */
  retryDelayMs?: number;
  /** A connection silent this long is cut and resumed. Default 60 s. */
  idleTimeoutMs?: number;
}

/** The download failed for a reason worth telling the operator (offline, a 404, a wrong hash). */
export class ModelDownloadError extends Error {}

/** The whole file arrived and is not the one expected (size, SHA-256): it is deleted; the network was not the problem. */
export class ModelFileRejectedError extends ModelDownloadError {}

/** What the `.part` file belongs to: a part of another URL or another expected file is never continued. */
interface PartInfo {
  url: string;
  sha256: string | undefined;
  totalBytes: number | undefined;
}

const MAX_REDIRECTS = 5;
const SHA256_HEX = /^[0-9a-f]{64}$/;

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData["body"];
  /** From any hop of the redirect chain: Hugging Face puts the file's hash and size on its redirect. */
  linkedSha256: string | undefined;
  linkedSize: number | undefined;
}

function header(headers: Response["headers"], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function get(url: string, rangeStart: number, options: { signal?: AbortSignal; idleTimeoutMs: number }): Promise<Response> {
  let linkedSha256: string | undefined;
  let linkedSize: number | undefined;
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
    const response = await request(current, {
      method: "GET",
      headers: { "user-agent": "debrief", ...(rangeStart > 0 ? { range: `bytes=${rangeStart}-` } : {}) },
      signal: options.signal,
      headersTimeout: options.idleTimeoutMs,
      bodyTimeout: options.idleTimeoutMs,
    });
    const etag = header(response.headers, "x-linked-etag")?.replace(/^W\//, "").replace(/"/g, "").toLowerCase();
    if (etag && SHA256_HEX.test(etag)) linkedSha256 = etag;
    const size = Number(header(response.headers, "x-linked-size"));
    if (Number.isSafeInteger(size) && size > 0) linkedSize = size;
    const location = header(response.headers, "location");
    if (response.statusCode >= 300 && response.statusCode < 400 && location) {
      await response.body.dump().catch(() => undefined);
      current = new URL(location, current).href;
      continue;
    }
    return { status: response.statusCode, headers: response.headers, body: response.body, linkedSha256, linkedSize };
  }
  throw new ModelDownloadError(`more than ${MAX_REDIRECTS} redirects`);
}

function readPartInfo(file: string): PartInfo | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as PartInfo;
  } catch {
    return undefined;
  }
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Retrying cannot fix these: the file is not there, or we may not have it. */
function isFinalStatus(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message !== error.message ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

/**
 * Downloads `url` to `destination` unless it is already there. Resolves once the file is whole and verified;
 * rejects with a ModelDownloadError saying why not. A cut connection is resumed (up to `attempts` connections);
 * what was fetched stays in `destination.part` for the next start to continue.
 */
export async function downloadModel(options: DownloadOptions): Promise<void> {
  const { url, destination, signal, onProgress } = options;
  if (existsSync(destination)) return;
  const attempts = options.attempts ?? 5;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const partFile = `${destination}.part`;
  const infoFile = `${destination}.part.json`;
  mkdirSync(dirname(destination), { recursive: true });

  const saved = readPartInfo(infoFile);
  let info: PartInfo = { url, sha256: options.sha256, totalBytes: undefined };
  if (saved && saved.url === url && (options.sha256 === undefined || saved.sha256 === options.sha256)) {
    info = { ...saved, sha256: options.sha256 ?? saved.sha256 };
  } else {
    rmSync(partFile, { force: true });
  }

  let lastError = "no attempt was made";
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (attempt > 0) await sleep((options.retryDelayMs ?? 1_000) * 2 ** (attempt - 1), undefined, { signal });
    const offset = existsSync(partFile) ? statSync(partFile).size : 0;
    if (offset > 0 && offset === info.totalBytes) return finish(partFile, infoFile, destination, info);
    let response: Response;
    try {
      response = await get(url, offset, { signal, idleTimeoutMs });
    } catch (error) {
      if (signal?.aborted) throw error;
      lastError = `could not reach ${new URL(url).host}: ${describe(error)}`;
      continue;
    }
    if (response.status !== 200 && response.status !== 206) {
      await response.body.dump().catch(() => undefined);
      lastError = `${url} answered HTTP ${response.status}`;
      if (isFinalStatus(response.status)) throw new ModelDownloadError(lastError);
      continue;
    }
    // 200 to a range request: the server sends the whole file again, so the part starts over.
    const start = response.status === 206 ? offset : 0;
    const rangeTotal = /\/(\d+)\s*$/.exec(header(response.headers, "content-range") ?? "")?.[1];
    const length = Number(header(response.headers, "content-length"));
    const totalBytes = rangeTotal ? Number(rangeTotal) : Number.isSafeInteger(length) ? start + length : response.linkedSize;
    info = { url, sha256: info.sha256 ?? response.linkedSha256, totalBytes: totalBytes ?? info.totalBytes };
    writeFileSync(infoFile, JSON.stringify(info));

    let downloaded = start;
    onProgress?.({ downloadedBytes: downloaded, totalBytes: info.totalBytes });
    // Chunk by chunk, each on disk before the next is read: whatever arrived before a cut is kept for the resume.
    const part = await open(partFile, start > 0 ? "a" : "w");
    try {
      for await (const chunk of response.body) {
        await part.write(chunk as Buffer);
        downloaded += (chunk as Buffer).length;
        onProgress?.({ downloadedBytes: downloaded, totalBytes: info.totalBytes });
      }
    } catch (error) {
      if (signal?.aborted) throw error;
      lastError = `the connection broke after ${downloaded} bytes: ${describe(error)}`;
      continue;
    } finally {
      await part.close();
    }
    if (info.totalBytes !== undefined && downloaded !== info.totalBytes) {
      lastError = `the connection ended after ${downloaded} of ${info.totalBytes} bytes`;
      continue;
    }
    return finish(partFile, infoFile, destination, info);
  }
  // Not "what arrived is kept": this message reaches API clients (a 503), whose own request was never stored.
  throw new ModelDownloadError(`${lastError} (after ${attempts === 1 ? "1 attempt" : `${attempts} attempts`}; the part of the model file fetched so far stays on disk for the next download to resume)`);
}

/** Checks the whole part against the expected size and hash, then moves it into place. A wrong file is deleted. */
async function finish(partFile: string, infoFile: string, destination: string, info: PartInfo): Promise<void> {
  const size = statSync(partFile).size;
  if (info.totalBytes !== undefined && size !== info.totalBytes) {
    rmSync(partFile, { force: true });
    rmSync(infoFile, { force: true });
    throw new ModelFileRejectedError(`the file has ${size} bytes, not the ${info.totalBytes} announced; deleted`);
  }
  if (info.sha256) {
    const actual = await sha256Of(partFile);
    if (actual !== info.sha256) {
      rmSync(partFile, { force: true });
      rmSync(infoFile, { force: true });
      throw new ModelFileRejectedError(`the file's SHA-256 is ${actual}, not the expected ${info.sha256}; deleted`);
    }
  }
  renameSync(partFile, destination);
  rmSync(infoFile, { force: true });
}

/**
 * A failed download, remembered beside the model file (`<file>.failed.json`) so that starts without internet do not each
 * spend the retries again: after a failure a start tries once, and not at all before `next_attempt_after`.
 */
export interface DownloadFailure {
  url: string;
  /** Failed downloads in a row. */
  failures: number;
  failed_at: string;
  next_attempt_after: string;
  reason: string;
}

/** After the first failure a start waits a minute, doubling with each failure after it, at most an hour. */
export function downloadBackoffMs(failures: number): number {
  return Math.min(60_000 * 2 ** Math.max(0, failures - 1), 3_600_000);
}

export const downloadFailureFile = (destination: string): string => `${destination}.failed.json`;

/** The failure remembered for `url` (one for another URL, or an unreadable file, is no failure of this one). */
export function readDownloadFailure(destination: string, url: string): DownloadFailure | undefined {
  try {
    const failure = JSON.parse(readFileSync(downloadFailureFile(destination), "utf8")) as DownloadFailure;
    return failure.url === url && Number.isInteger(failure.failures) && !Number.isNaN(Date.parse(failure.failed_at)) ? failure : undefined;
  } catch {
    return undefined;
  }
}

/** When a start may try again: the backoff counts from the failure's time as written, so moving it back lets one try. */
export function nextDownloadAttempt(failure: DownloadFailure): number {
  return Date.parse(failure.failed_at) + downloadBackoffMs(failure.failures);
}

export function recordDownloadFailure(destination: string, url: string, reason: string, now = Date.now()): DownloadFailure {
  const failures = (readDownloadFailure(destination, url)?.failures ?? 0) + 1;
  const failure: DownloadFailure = {
    url,
    failures,
    failed_at: new Date(now).toISOString(),
    next_attempt_after: new Date(now + downloadBackoffMs(failures)).toISOString(),
    reason,
  };
  mkdirSync(dirname(destination), { recursive: true });
  writeFileSync(downloadFailureFile(destination), `${JSON.stringify(failure, null, 2)}\n`);
  return failure;
}

export function forgetDownloadFailure(destination: string): void {
  rmSync(downloadFailureFile(destination), { force: true });
}
