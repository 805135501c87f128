// `npm run store:copy -- --to <postgres url> [--merge] [--batch-size n]`: copies DEBRIEF_DATA_DIR's SQLite stores into PostgreSQL.
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { DatabaseSetupError, redactUrl } from "../db/index.js";
import { createLogger } from "../logger.js";
import { loadSettings, SettingsError } from "../settings.js";
import { copyStores, StoreCopyError } from "./store-copy.js";

const USAGE = "usage: npm run store:copy -- --to <postgres://…> [--merge] [--batch-size 500]   (reads DEBRIEF_DATA_DIR)";

function parsedArguments() {
  try {
    return parseArgs({ options: { to: { type: "string" }, merge: { type: "boolean", default: false }, "batch-size": { type: "string" } }, strict: true });
  } catch (error) {
    throw new StoreCopyError(`${(error as Error).message}\n${USAGE}`);
  }
}

async function main(): Promise<void> {
  const { values } = parsedArguments();
  const batchSize = values["batch-size"] === undefined ? undefined : Number(values["batch-size"]);
  if (!values.to || (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize > 0 && batchSize <= 2_000))) {
    throw new StoreCopyError(USAGE);
  }
  const settings = loadSettings();
  const logger = createLogger(settings.logLevel === "silent" ? "silent" : "warn");
  process.stdout.write(`copying ${settings.cache.dataDir} (calls.sqlite, outbox.sqlite) into ${redactUrl(values.to)}\n`);
  let table = "";
  const report = await copyStores({
    dataDir: settings.cache.dataDir,
    url: values.to,
    merge: values.merge,
    batchSize,
    logger,
    onBatch: (batch) => {
      if (batch.table !== table) process.stdout.write(`${(table = batch.table)}:`);
      process.stdout.write(` +${batch.inserted}`);
    },
  });
  if (table) process.stdout.write("\n");
  for (const { table, inserted, total } of report.tables) process.stdout.write(`  ${table}: ${inserted} copied now, ${total} in the source\n`);
  process.stdout.write(`done${report.resumed ? " (resumed an earlier run)" : ""}: every table is copied; a run again changes nothing\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((error: unknown) => {
    // A refusal or a bad setting is a message, not a stack trace; anything else is a failure a rerun resumes from.
    if (error instanceof StoreCopyError || error instanceof SettingsError || error instanceof DatabaseSetupError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(`store:copy stopped: ${error instanceof Error ? error.stack : String(error)}\nRun it again: it resumes where it stopped.\n`);
    }
    process.exit(1);
  });
}
