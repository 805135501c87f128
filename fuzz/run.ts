// `npm run fuzz [-- --extract=10000 --calls=2000 --seed=N --postgres --no-build]`: builds Debrief, runs it as `npm start`
// would (on SQLite, or with --postgres on a database of its own at 127.0.0.1:5432), and fuzzes POST /v1/extract and
// POST /v1/calls (fuzz/harness.ts). Exits 1 on any 5xx, hang, crash, failed call or forged signature not refused.
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { formatReport, runFuzz, type FuzzOptions } from "./harness.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const USAGE = "Usage: npm run fuzz -- [--extract=10000] [--calls=2000] [--seed=N] [--concurrency=4] [--postgres] [--src] [--no-build]";

function parseArgs(argv: string[]): FuzzOptions & { build: boolean } {
  const options: FuzzOptions & { build: boolean } = { extract: 10_000, calls: 2_000, seed: Date.now() % 1_000_000, entry: "dist", build: true };
  for (const arg of argv) {
    const [name, value] = arg.split("=", 2) as [string, string | undefined];
    const number = Number(value);
    if (name === "--extract" && Number.isInteger(number)) options.extract = number;
    else if (name === "--calls" && Number.isInteger(number)) options.calls = number;
    else if (name === "--seed" && Number.isInteger(number)) options.seed = number;
    else if (name === "--concurrency" && Number.isInteger(number) && number > 0) options.concurrency = number;
    else if (name === "--src") options.entry = "src";
    else if (name === "--postgres") options.postgres = true;
    else if (name === "--no-build") options.build = false;
    else {
      process.stderr.write(`unknown argument ${arg}\n${USAGE}\n`);
      process.exit(2);
    }
  }
  return options;
}

const options = parseArgs(process.argv.slice(2));
if (options.entry === "dist" && options.build) {
  process.stdout.write("building (npm run build)…\n");
  const built = spawnSync("npm", ["run", "build"], { cwd: ROOT, encoding: "utf8" });
  if (built.status !== 0) {
    process.stderr.write(`${built.stdout}\n${built.stderr}\nnpm run build failed\n`);
    process.exit(1);
  }
}
process.stdout.write(
  `fuzzing ${options.extract} × POST /v1/extract and ${options.calls} × POST /v1/calls (seed ${options.seed}, ${options.entry}, ${options.postgres ? "postgres" : "sqlite"})…\n`,
);
const report = await runFuzz({ ...options, log: (line) => process.stdout.write(`${line}\n`) });
process.stdout.write(`${formatReport(report)}\n`);
process.exit(report.failures.length > 0 ? 1 : 0);
