// Runs the real server as a child process (node + tsx), for tests that kill it, restart it, or read how it exits.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface SpawnedService {
  url: string;
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  exited: Promise<number | string>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts `src/server.ts` with tsx (or, with `entry: "dist"`, the build `npm start` runs) and waits until /healthz
 * answers (or the process exits, for start-up failures).
 */
/**
 * Every server this test process started and that still runs: killed when the test process exits, so a test that
 * failed or timed out before stopping its server leaves nothing behind to slow the runs after it.
 */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export async function spawnService(
  env: Record<string, string>,
  options: { waitReady?: boolean; entry?: "src" | "dist"; /** Default 15 s. */ readyTimeoutMs?: number } = {},
): Promise<SpawnedService> {
  const port = env.PORT ?? String(await freePort());
  const args = options.entry === "dist" ? ["--enable-source-maps", "dist/src/server.js"] : ["--import", "tsx", "src/server.ts"];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    // DEBRIEF_LOCAL_MODEL off: without an LLM the service would otherwise download the local model.
    env: { PATH: process.env.PATH, HOST: "127.0.0.1", LOG_LEVEL: "warn", DEBRIEF_LOCAL_MODEL: "off", ...env, PORT: port },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  const url = `http://127.0.0.1:${port}`;
  if (options.waitReady !== false) {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 15_000);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited during start-up:\n${output}`);
      try {
        if ((await fetch(`${url}/healthz`)).ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`server did not start:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { url, child, output: () => output, exited };
}
