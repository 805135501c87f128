// The optional LLM judge for `summary`: a second structured call, through the same Llm and structured-output
// path as extraction, that passes or fails a summary against its transcript.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DebriefError } from "../src/errors.js";
import { completeStructured } from "../src/extract/index.js";
import type { Llm, Usage } from "../src/llm/index.js";
import { buildOutputSchema, type ExtractJob } from "../src/schema/index.js";
import { formatForModel } from "../src/transcript/index.js";
import type { Judgement } from "./report-schema.js";

const SYSTEM_PROMPT = readFileSync(fileURLToPath(new URL("./prompts/judge-summary.md", import.meta.url)), "utf8").trim();

const VERDICT_SCHEMA = buildOutputSchema(
  [
    { name: "passes", type: "boolean", description: "Whether the summary is faithful, captures the outcome and fits its description" },
    { name: "reason", type: "string", description: "One short sentence: why it passes or fails" },
  ],
  { evidence: false },
);

export interface JudgeSettings {
  llm: Llm;
  model: string;
  mode: "json_schema" | "json_object";
  repairAttempts: number;
}

export interface JudgedSummary {
  judgement: Judgement;
  usage: Usage;
}

export type SummaryJudge = (job: ExtractJob, summary: string | null, reference: string | null) => Promise<JudgedSummary>;

const NO_USAGE: Usage = { prompt_tokens: 0, completion_tokens: 0 };

export function createSummaryJudge(settings: JudgeSettings): SummaryJudge {
  return async (job, summary, reference) => {
    // Nothing to grade is a fail, not a question for the judge.
    if (summary === null || summary.trim() === "") return { judgement: { pass: false, reason: "no summary was extracted" }, usage: NO_USAGE };
    const description = job.variables.find((spec) => spec.name === "summary")?.description ?? "";
    const user = [
      `What the summary is meant to be: ${description}`,
      `Transcript:\n"""\n${formatForModel(job.turns)}\n"""`,
      reference ? `Reference summary: ${JSON.stringify(reference)}` : "",
      `Summary to grade: ${JSON.stringify(summary)}`,
    ]
      .filter(Boolean)
      .join("\n\n");
    try {
      const result = await completeStructured({
        llm: settings.llm,
        model: settings.model,
        mode: settings.mode,
        schema: VERDICT_SCHEMA,
        schemaName: "summary_judgement",
        repairAttempts: settings.repairAttempts,
        messages: [
          { role: "system", content: SYSTEM_PROMPT },
          { role: "user", content: user },
        ],
      });
      const { passes, reason } = result.answer.values;
      return { judgement: { pass: passes === true, reason: typeof reason === "string" ? reason : "" }, usage: result.usage };
    } catch (error) {
      const code = error instanceof DebriefError ? error.code : "internal_error";
      return { judgement: { error: { code, message: (error as Error).message } }, usage: NO_USAGE };
    }
  };
}
