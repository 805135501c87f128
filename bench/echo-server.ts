// The cache-hit baseline: a bare Express app that parses a JSON body with the same limits as Debrief and echoes it.
// Run as its own process on loopback; prints `{"port": N}` on stdout once listening. Usage: echo-server.ts <limit>
import express from "express";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const limit = process.argv[2] ?? "2mb";
const app = express();
app.disable("x-powered-by");
app.set("trust proxy", false);
app.use(express.json({ limit, type: ["application/json", "application/*+json"] }));
app.post("/v1/extract", (req, res) => {
  res.json(req.body);
});

const server = createServer(app);
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on("SIGTERM", () => process.exit(0));
// The bench holds our stdin open; when it goes away, however it died, so do we.
process.stdin.on("end", () => process.exit(0)).resume();
