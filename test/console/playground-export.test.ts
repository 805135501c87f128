// What the playground hands out must work where it is pasted: the curl command in a real shell, the YAML in a real
// configuration file read by the service's own loader.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { loadPipelineConfig } from "../../src/configuration/config-file.js";
import { curlCommand, profileYaml, shellQuote, variablesFromRows } from "../../web/src/playground-export.js";

const LIMITS = { maxBodyBytes: 2 * 1024 * 1024, maxVariables: 200, maxDescriptionChars: 2_000 };
const run = promisify(execFile);

/** Text a person could type into the table that means something to a shell or to YAML. */
const AWKWARD = [
  "It's the customer's budget, in $USD (not `cents`)",
  'She said "no" twice; then: yes',
  "true",
  "- starts like a list item",
  "#not a comment",
  "key: value # with a comment",
  "line one\nline two",
  "ends with a space ",
  "null",
  "100",
  "emoji 🙂 and ünïcödé",
];

describe("shellQuote", () => {
  it("passes every string through a POSIX shell unchanged", async () => {
    for (const text of [...AWKWARD, "'", "''", "$(touch /tmp/x)", "\\"]) {
      const { stdout } = await run("sh", ["-c", `printf %s ${shellQuote(text)}`]);
      expect(stdout).toBe(text);
    }
  });
});

describe("curlCommand", () => {
  it("sends the request body byte for byte, and reads the key from $DEBRIEF_API_KEY rather than embedding it", async () => {
    const body = { transcript: AWKWARD.join("\n"), variables: [{ name: "note", type: "string", description: AWKWARD[0] }] };
    const command = curlCommand("http://127.0.0.1:1", body, { auth: true });
    expect(command).toContain('-H "authorization: Bearer $DEBRIEF_API_KEY"');
    // `curl` replaced by a function that prints the body it was given and the header the shell expanded.
    const fakeCurl = `curl() { while [ $# -gt 0 ]; do case "$1" in --data-binary) printf '%s' "$2"; shift;; -H) printf '%s\\n' "$2" >&2; shift;; esac; shift; done; }`;
    const { stdout, stderr } = await run("bash", ["-c", `${fakeCurl}\n${command}`], { env: { DEBRIEF_API_KEY: "dbr_from_env" } });
    expect(JSON.parse(stdout)).toEqual(body);
    expect(stderr.split("\n")).toContain("authorization: Bearer dbr_from_env");
  });
});

describe("profileYaml", () => {
  it("is read back by the service's configuration loader as exactly the table's variables", () => {
    const rows = [
      ...AWKWARD.filter((text) => !text.includes("\n")).map((description, i) => ({ name: `v_${i}`, type: "string", options: "", description })),
      { name: "plan", type: "enum", options: "basic, pro: annual, true, #1, 10", description: "The plan" },
      { name: "tags", type: "list", options: "", description: "Topics" },
      { name: "", type: "string", options: "", description: "a row left empty is not a variable" },
    ];
    const variables = variablesFromRows(rows);
    const yaml = profileYaml(variables);
    const indented = yaml.split("\n").map((line) => (line ? `    ${line}` : line)).join("\n");
    const file = join(mkdtempSync(join(tmpdir(), "debrief-yaml-")), "debrief.yaml");
    writeFileSync(file, `profiles:\n  pasted:\n${indented}    destinations: [crm]\ndestinations:\n  crm:\n    url: https://crm.example.com/hook\n`);
    const config = loadPipelineConfig(file, {}, LIMITS);
    const loaded = config.profiles.get("pasted")!.variables;
    expect(loaded.map((variable) => ({ name: variable.name, type: variable.type, description: variable.description, ...(variable.options ? { options: variable.options } : {}) }))).toEqual(
      variables,
    );
    expect(variables.find((variable) => variable.name === "plan")?.options).toEqual(["basic", "pro: annual", "true", "#1", "10"]);
  });
});
