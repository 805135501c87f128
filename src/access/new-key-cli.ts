// `npm run key:new -- --name crm-reader [--scopes calls:read,calls:review] [--profiles dental]`: prints a key and its line.
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { isScope, newApiKey } from "./new-key.js";
import { SCOPES } from "./scopes.js";

const USAGE = `usage: npm run key:new -- --name <name> [--scopes ${SCOPES.join(",")}] [--profiles a,b]   (default scopes: calls:read)`;

function main(): number {
  let values: { name?: string; scopes?: string; profiles?: string };
  try {
    values = parseArgs({ options: { name: { type: "string" }, scopes: { type: "string" }, profiles: { type: "string" } }, strict: true }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const split = (text: string | undefined) => (text ?? "").split(",").map((item) => item.trim()).filter(Boolean);
  const scopes = split(values.scopes ?? "calls:read");
  const unknown = scopes.filter((scope) => !isScope(scope));
  if (!values.name || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(values.name) || unknown.length > 0 || scopes.length === 0) {
    process.stderr.write(`${unknown.length ? `unknown scope(s): ${unknown.join(", ")}\n` : ""}${USAGE}\n`);
    return 2;
  }
  const { key, line } = newApiKey(values.name, scopes.filter(isScope), split(values.profiles));
  process.stdout.write(`key (give it to its holder; it is not shown again):\n  ${key}\n\nunder keys: in the configuration file, then reload:\n  ${line}\n`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) process.exitCode = main();
