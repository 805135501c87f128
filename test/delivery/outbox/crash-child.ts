// Child process for the SIGKILL test: starts a worker on an outbox file and is killed mid-attempt by the parent.
import { silentLogger } from "../../../src/logger.js";
import { compileDestinations, SqliteOutbox, DeliveryWorker } from "../../../src/delivery/index.js";

const [file, url] = process.argv.slice(2) as [string, string];
const outbox = SqliteOutbox.open(file);
const destinations = compileDestinations({ crm: { url, timeout_ms: 60_000 } }, {}, { allowPrivate: true });
await outbox.enqueue({ callId: "call_crash", destination: "crm", payload: { survived: true } });
new DeliveryWorker({ outbox, destinations, logger: silentLogger, allowPrivate: true, pollIntervalMs: 10 }).start();
setInterval(() => undefined, 1_000); // stay alive until killed
