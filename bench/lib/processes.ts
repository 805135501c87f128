// Child processes of the bench (Debrief, the fake LLM, the echo baseline, the load generator): start them on
// loopback ports chosen at run time, read their CPU time and memory from /proc, and kill every one on any exit.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

const children = new Set<ChildProcess>();

/** Registers a child so that it is killed when the bench exits, fails or is interrupted. */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

export function killAll(signal: NodeJS.Signals = "SIGKILL"): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
}

let installed = false;

/** Kill every child on normal exit, on an uncaught error and on SIGINT/SIGTERM. `cleanup` runs too (sync only). */
export function killChildrenOnExit(cleanup: () => void): void {
  if (installed) return;
  installed = true;
  process.on("exit", () => {
    killAll();
    cleanup();
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping every child process\n`);
      process.exit(130);
    });
  }
  process.on("uncaughtException", (error) => {
    process.stderr.write(`bench failed: ${error.stack ?? String(error)}\n`);
    process.exit(1);
  });
  process.on("unhandledRejection", (error) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}

/** A port that was free a moment ago on 127.0.0.1 (for Debrief, which takes PORT from its environment). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Runs a bench TypeScript server (`node --import tsx file`) that prints `{"port": N}` once listening. */
export async function startReportingServer(name: string, file: string, args: string[] = []): Promise<{ child: ChildProcess; port: number; url: string }> {
  const child = track(spawn(process.execPath, ["--import", "tsx", file, ...args], { stdio: ["pipe", "pipe", "pipe"] }));
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`${name} did not report a port within 30 s:\n${stderr}`)), 30_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = /^\{"port":\d+\}$/m.exec(stdout)?.[0];
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before listening:\n${stderr}`));
    });
  });
  child.stdout?.resume();
  return { child, port, url: `http://127.0.0.1:${port}` };
}

export async function waitForHttp(url: string, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (!alive()) throw new Error(`the process behind ${url} exited`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

export interface DebriefProcess {
  name: string;
  pid: number;
  url: string;
  logFile: string;
  /** SIGTERM (Debrief drains and exits, writing a CPU profile if asked), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface DebriefOptions {
  name: string;
  /** DEBRIEF_* and other settings; PORT, HOST and the process basics are added here. */
  env: Record<string, string>;
  logFile: string;
  /** Write a V8 CPU profile into this directory when the process exits. */
  cpuProfileDir?: string;
  /** The entry point: the built server, so that tsx is not what gets measured. */
  entry: string;
}

/** Starts `node dist/src/server.js` with only the given settings (no stray DEBRIEF_* or keys from our environment). */
export async function startDebrief(options: DebriefOptions): Promise<DebriefProcess> {
  const port = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    TMPDIR: process.env.TMPDIR ?? "/tmp",
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    PORT: String(port),
    // Never a download from a bench run: a section that measures the local model names its file.
    DEBRIEF_LOCAL_MODEL: "off",
    ...options.env,
  };
  const log = openSync(options.logFile, "a");
  const nodeArgs = options.cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const spawnOptions: SpawnOptions = { env, stdio: ["ignore", log, log] };
  const child = track(spawn(process.execPath, [...nodeArgs, options.entry], spawnOptions));
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/healthz`, 30_000, () => child.exitCode === null);
  } catch (error) {
    child.kill("SIGKILL");
    const tail = readFileSync(options.logFile, "utf8").slice(-3000);
    throw new Error(
      `Debrief (${options.name}) did not start: ${(error as Error).message}\n--- ${options.logFile} ---\n${tail}\n` +
        "If another engineer is mid-edit in src/, wait a minute and run the bench again.",
    );
  }
  return {
    name: options.name,
    pid: child.pid!,
    url,
    logFile: options.logFile,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

let clockTicks: number | undefined;

/** USER_HZ: the unit of utime and stime in /proc/<pid>/stat (100 on every Linux we run on). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    clockTicks = 100;
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      // keep 100
    }
  }
  return clockTicks;
}

/** CPU time (user + system, every thread) the process has used so far, in milliseconds. */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may hold spaces and parentheses: fields are counted after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / ticksPerSecond();
}

/** A field of /proc/<pid>/status in KiB, e.g. VmHWM (peak resident set) or VmRSS. */
export function statusKiB(pid: number, field: "VmHWM" | "VmRSS"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}
