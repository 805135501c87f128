// `npm run convert -- --from retell FILE`: a peer's definition (JSON or YAML) printed as a profile's `variables:` YAML,
// with the notes on stderr. The same conversion as POST /v1/variables/convert.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parse, stringify } from "yaml";
import { convertDefinition, CONVERT_SOURCES, type ConvertSource } from "./index.js";

export function runConvertCli(argv: readonly string[], out: (text: string) => void, err: (text: string) => void): number {
  const { values, positionals } = parseArgs({ args: [...argv], options: { from: { type: "string" } }, allowPositionals: true });
  const from = values.from as ConvertSource | undefined;
  if (!from || !CONVERT_SOURCES.includes(from) || positionals.length !== 1) {
    err(`usage: npm run convert -- --from ${CONVERT_SOURCES.join("|")} FILE\n`);
    return 2;
  }
  // YAML is a superset of JSON: one parser reads either.
  const definition: unknown = parse(readFileSync(positionals[0]!, "utf8"));
  const { variables, notes } = convertDefinition(from, definition);
  out(stringify({ variables }));
  for (const note of notes) err(`note: ${note}\n`);
  return 0;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"))) {
  process.exitCode = runConvertCli(process.argv.slice(2), (text) => process.stdout.write(text), (text) => process.stderr.write(text));
}
