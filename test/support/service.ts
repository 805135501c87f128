// Starts the real service on a loopback port for a test, pointed at a fake LLM, and talks to it over HTTP.
import { mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSettings, type Settings } from "../../src/settings.js";
import { silentLogger } from "../../src/logger.js";
import { startService, type Service } from "../../src/server.js";

export interface TestService {
  url: string;
  settings: Settings;
  service: Service;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

/** Each service gets its own data dir unless the test names one (to restart on the same files). */
export async function startTestService(
  env: Record<string, string | undefined>,
  options: { pollIntervalMs?: number; consoleDir?: string } = {},
): Promise<TestService> {
  const dataDir = env.DEBRIEF_DATA_DIR ?? mkdtempSync(join(tmpdir(), "debrief-test-"));
  // Without an LLM the service would pick the local model and download it: tests never do, unless they name one.
  const settings = loadSettings({ PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "silent", DEBRIEF_LOCAL_MODEL: "off", ...env, DEBRIEF_DATA_DIR: dataDir });
  // 50 ms unless the test names one; `{ pollIntervalMs: undefined }` passes undefined on, as production does (its default).
  const pipelinePollIntervalMs = "pollIntervalMs" in options ? options.pollIntervalMs : 50;
  const service = await startService(settings, silentLogger, { env, pipelinePollIntervalMs, consoleDir: options.consoleDir });
  const url = `http://127.0.0.1:${(service.server.address() as AddressInfo).port}`;
  const call = async (method: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed as any, headers: response.headers };
  };
  return {
    url,
    settings,
    service,
    post: (path, body, headers) => call("POST", path, body, headers),
    get: (path, headers) => call("GET", path, undefined, headers),
    close: () => service.close(1_000),
  };
}
