// `npm run bench [-- --quick]`: builds Debrief, starts a fake OpenAI-compatible LLM, Debrief and a load generator as
// separate processes on loopback, measures what Debrief adds to the LLM call, prints a table and writes results JSON.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PLANS, type BenchContext, type Mode, type SectionResult } from "./lib/context.js";
import { startLoadGenerator } from "./lib/load-client.js";
import { killChildrenOnExit, startDebrief, startReportingServer, type DebriefProcess } from "./lib/processes.js";
import { renderSection, renderProfile } from "./lib/table.js";
import { cacheHits } from "./sections/cache-hits.js";
import { concurrencyBurst } from "./sections/concurrency.js";
import { delivery } from "./sections/delivery.js";
import { hostileSenders } from "./sections/hostile-senders.js";
import { insights } from "./sections/insights.js";
import { llmBudget } from "./sections/llm-budget.js";
import { patterns } from "./sections/patterns.js";
import { localModel } from "./sections/local-model.js";
import { longCalls } from "./sections/long-calls.js";
import { overheadAtLatency, overheadAtZero, overheadEnv } from "./sections/overhead.js";
import { profileUnderLoad, type ProfileResult } from "./sections/profile.js";
import { scaleOut } from "./sections/scale-out.js";
import { promptTokens } from "./sections/tokens.js";

/** The sections, in the order they are printed and stored. */
const SECTION_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13"];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

interface Args {
  mode: Mode;
  /** true: always build; false: never; undefined: full mode builds, quick mode builds when dist/ is stale. */
  build: boolean | undefined;
  only: Set<string> | undefined;
  out: string;
}

const USAGE = `Usage: npm run bench -- [--quick] [--build|--no-build] [--only=1,3,profile] [--out=FILE]
  --quick      scaled-down run in under a minute (results go to bench/out/results-quick.json)
  --build      always run \`npm run build\` first (full mode always does; quick mode only when dist/ is stale)
  --no-build   never build (dist/ must be current)
  --only       run only these sections: 1-13 and "profile" (9: the local model; DEBRIEF_LOCAL_MODEL=FILE measures a real one;
               10: /healthz under three hostile senders; 11: two instances against an LLM account limit, needs Redis;
               12: insights over 100,000 stored calls on SQLite and PostgreSQL; 13: a hostile pattern on RE2)
  --out        where to write the results JSON (default: bench/results.json, quick: bench/out/results-quick.json)`;

function parseArgs(argv: string[]): Args {
  const args: Args = { mode: "full", build: undefined, only: undefined, out: "" };
  for (const arg of argv) {
    if (arg === "--quick") args.mode = "quick";
    else if (arg === "--no-build") args.build = false;
    else if (arg === "--build") args.build = true;
    else if (arg.startsWith("--only=")) args.only = new Set(arg.slice("--only=".length).split(","));
    else if (arg.startsWith("--out=")) args.out = resolve(arg.slice("--out=".length));
    else if (arg === "--help" || arg === "-h") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else {
      process.stderr.write(`unknown argument ${arg}\n${USAGE}\n`);
      process.exit(2);
    }
  }
  args.out ||= args.mode === "full" ? join(ROOT, "bench", "results.json") : join(ROOT, "bench", "out", "results-quick.json");
  return args;
}

function machine(loadAtStart: number[]) {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  return {
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? "unknown",
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kernel: `${process.platform} ${release()}`,
    /** 1, 5 and 15-minute load averages: above the core count, other work competed with the bench. */
    loadAverageAtStart: loadAtStart.map((value) => Math.round(value * 100) / 100),
    loadAverageAtEnd: loadavg().map((value) => Math.round(value * 100) / 100),
  };
}

/** Newest modification time under `path` (a file or a directory tree), in ms. */
function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path, { recursive: true, encoding: "utf8" }).reduce((latest, name) => Math.max(latest, statSync(join(path, name)).mtimeMs), stat.mtimeMs);
}

/** Oldest .js file of dist/src (tsc rewrites every output on each build), or 0 when there is no build. */
function oldestBuildOutput(): number {
  const dist = join(ROOT, "dist", "src");
  if (!existsSync(join(dist, "server.js"))) return 0;
  return readdirSync(dist, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".js"))
    .reduce((oldest, name) => Math.min(oldest, statSync(join(dist, name)).mtimeMs), Number.POSITIVE_INFINITY);
}

/** `npm run build`; in quick mode only when a source is newer than the build (so a quick run stays under a minute). */
function build(mode: Mode, force: boolean): void {
  const sources = Math.max(...["src", "prompts", "tsconfig.json", "tsconfig.build.json", "package.json"].map((path) => newest(join(ROOT, path))));
  if (!force && mode === "quick" && oldestBuildOutput() > sources) {
    process.stdout.write("dist/ is newer than every source: not rebuilding (--build forces it)\n");
    return;
  }
  process.stdout.write("building (npm run build)…\n");
  const result = spawnSync("npm", ["run", "build"], { cwd: ROOT, encoding: "utf8" });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout}\n${result.stderr}\nnpm run build failed: if another engineer is mid-edit in src/, wait a minute and retry.\n`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const loadAtStart = loadavg();
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const runDir = join(ROOT, "bench", "out", `run-${stamp}`);
  mkdirSync(runDir, { recursive: true });
  const dataRoot = mkdtempSync(join(tmpdir(), "debrief-bench-"));
  killChildrenOnExit(() => rmSync(dataRoot, { recursive: true, force: true }));

  if (args.build !== false) build(args.mode, args.build === true);
  const entry = join(ROOT, "dist", "src", "server.js");
  const llm = await startReportingServer("fake LLM", join(ROOT, "bench", "fake-llm-server.ts"));
  const load = startLoadGenerator(join(ROOT, "bench", "load-generator.ts"));
  let zeroLatency: Promise<DebriefProcess> | undefined;
  const context: BenchContext = {
    mode: args.mode,
    plan: PLANS[args.mode],
    root: ROOT,
    runDir,
    dataRoot,
    llmUrl: llm.url,
    llmPid: llm.child.pid!,
    load,
    startDebrief: (name, env, options) =>
      startDebrief({
        name,
        // The per-client rate limit would turn a load test into a test of the rate limiter.
        env: { DEBRIEF_RATE_LIMIT: "0", ...env },
        entry,
        logFile: join(runDir, `debrief-${name}.log`),
        cpuProfileDir: options?.cpuProfileDir,
      }),
    zeroLatencyDebrief: () => (zeroLatency ??= context.startDebrief("zero-latency", overheadEnv(context, "zero-latency", 0))),
  };

  const wanted = (key: string) => !args.only || args.only.has(key);
  const sections = new Map<string, SectionResult>();
  const failures: { section: string; error: string }[] = [];
  const profiles = new Map<string, ProfileResult>();

  // Cheapest first, the long burst last; the table is printed in section order whatever the order of running.
  const profiling = (workload: "miss" | "hit", key: string) => async () => void profiles.set(key, await profileUnderLoad(context, workload));
  const profiled = context.plan.profile.workloads;
  const steps: { key: string; name: string; run: () => Promise<void>; enabled?: boolean }[] = [
    { key: "6", name: "tokens", run: async () => void sections.set("6", await promptTokens(context)) },
    { key: "2", name: "overhead at 0 ms", run: async () => void sections.set("2", await overheadAtZero(context)) },
    { key: "profile", name: "CPU profile, cache misses", run: profiling("miss", "2"), enabled: profiled.includes("miss") },
    { key: "3", name: "cache hits", run: async () => void sections.set("3", await cacheHits(context)) },
    { key: "profile", name: "CPU profile, cache hits", run: profiling("hit", "3"), enabled: profiled.includes("hit") },
    { key: "1", name: "overhead at 500 ms", run: async () => void sections.set("1", await overheadAtLatency(context)) },
    { key: "5", name: "long calls", run: async () => void sections.set("5", await longCalls(context)) },
    { key: "4", name: "concurrency burst", run: async () => void sections.set("4", await concurrencyBurst(context)) },
    { key: "7", name: "delivery", run: async () => void sections.set("7", await delivery(context)) },
    { key: "8", name: "scale-out", run: async () => void sections.set("8", await scaleOut(context)) },
    { key: "9", name: "local model", run: async () => void sections.set("9", await localModel(context)) },
    { key: "10", name: "hostile senders", run: async () => void sections.set("10", await hostileSenders(context)) },
    { key: "11", name: "LLM budget", run: async () => void sections.set("11", await llmBudget(context)) },
    { key: "12", name: "insights over stored calls", run: async () => void sections.set("12", await insights(context)) },
    { key: "13", name: "patterns", run: async () => void sections.set("13", await patterns()) },
  ];
  for (const { key, name, run, enabled = true } of steps) {
    if (!enabled || !wanted(key)) continue;
    const stepStarted = performance.now();
    process.stdout.write(`running ${name}…`);
    try {
      await run();
      process.stdout.write(` ${((performance.now() - stepStarted) / 1000).toFixed(1)} s\n`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.push({ section: key, error: message });
      process.stdout.write(` FAILED\n${message}\n`);
    }
  }
  await (await zeroLatency?.catch(() => undefined))?.stop();
  load.close();
  llm.child.kill("SIGTERM");

  const info = machine(loadAtStart);
  const busy = Math.max(info.loadAverageAtStart[0]!, info.loadAverageAtEnd[0]!) > info.cores;
  const durationSec = Math.round((performance.now() - started) / 100) / 10;
  const lines = [
    "",
    `Debrief bench — ${args.mode.toUpperCase()} mode${args.mode === "quick" ? " (scaled down: shorter runs, section 4 at 200 requests against a 0.25 s LLM)" : ""}`,
    `machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, node ${info.node}, ${info.kernel}; load avg ${info.loadAverageAtStart.join(" ")} at start, ${info.loadAverageAtEnd.join(" ")} at end`,
    ...(busy ? ["WARNING: the load average exceeded the core count: other work competed with the bench, so absolute figures are inflated (ratios less so)."] : []),
    `date: ${new Date().toISOString()}; took ${durationSec} s`,
    "",
  ];
  for (const key of SECTION_KEYS) {
    const section = sections.get(key);
    if (section) lines.push(renderSection(section), "");
    const profile = profiles.get(key);
    if (profile) {
      const what = `${profile.description}; ${profile.requests} requests in ${profile.seconds} s; ${relative(ROOT, profile.file)}`;
      lines.push(renderProfile(`${key}b`, profile.summary, what), "");
    }
  }
  for (const failure of failures) lines.push(`section ${failure.section} FAILED: ${failure.error}`);
  process.stdout.write(`${lines.join("\n")}\n`);

  const measured = SECTION_KEYS.flatMap((key) => {
    const section = sections.get(key);
    return section ? [{ ...section, date: new Date().toISOString(), machine: info }] : [];
  });
  // `--only` re-runs some sections: the others keep their figures from the results file it updates, each section
  // with its own date and machine.
  const previous =
    args.only && existsSync(args.out)
      ? (JSON.parse(readFileSync(args.out, "utf8")) as { mode?: string; date?: string; machine?: unknown; sections?: SectionResult[]; profiles?: unknown[] })
      : undefined;
  const kept = (previous?.mode === args.mode ? (previous.sections ?? []) : [])
    .filter((section) => !measured.some((fresh) => fresh.id === section.id))
    .map((section) => ({ date: previous!.date, machine: previous!.machine, ...section }));
  const order = ["overhead_500ms", "overhead_0ms", "cache_hits", "concurrency", "long_calls", "tokens", "delivery", "scale-out", "local_model", "hostile_senders", "llm_budget", "insights", "patterns"];
  const results = {
    bench: "debrief",
    mode: args.mode,
    date: new Date().toISOString(),
    durationSec,
    machine: info,
    plan: context.plan,
    sections: [...kept, ...measured].sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id)),
    profiles: profiles.size > 0 || !previous ? [...profiles.values()].map((profile) => ({ ...profile, file: relative(ROOT, profile.file) })) : (previous.profiles ?? []),
    failures,
  };
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`results: ${relative(ROOT, args.out)}; logs and profile: ${relative(ROOT, runDir)}\n`);
  process.exit(failures.length > 0 ? 1 : 0);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
