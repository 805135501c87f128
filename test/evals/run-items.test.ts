// Running calls: bounded concurrency, dataset order kept, failures recorded, the model override, the summary judge.
import { describe, expect, it } from "vitest";
import { createSummaryJudge, parseDataset, runItems, type DatasetItem } from "../../evals/index.js";
import { ExtractionFailedError, LlmUnavailableError } from "../../src/errors.js";
import type { ExtractResult } from "../../src/extract/index.js";
import type { Completion, CompletionRequest, Llm } from "../../src/llm/index.js";
import type { ExtractJob } from "../../src/schema/index.js";

const LIMITS = { maxVariables: 200, maxDescriptionChars: 2000 };

const ITEMS: DatasetItem[] = ["a", "b", "c", "d", "e"].map((id) => {
  const line = JSON.stringify({
    id,
    scenario: "s",
    transcript: `AI: Hello ${id}.\nCustomer: Hi.`,
    variables: [{ name: "fleet_size", type: "integer", description: "Vehicles" }],
    expected: { fleet_size: 1, summary: `reference ${id}` },
  });
  return parseDataset(line, "s.jsonl", LIMITS).items[0]!;
});

function result(values: Record<string, unknown>, model = "gpt-4o-mini"): ExtractResult {
  return {
    extracted_variables: values,
    review: { needed: false, fields: {} },
    meta: { model, prompt_version: "p", cached: false, attempts: 1, chunks: 1, llm_calls: 1, usage: { prompt_tokens: 1, completion_tokens: 1 }, cost_usd: null, latency_ms: 1, extracted_at: "" },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("runItems", () => {
  it("keeps at most `concurrency` calls in flight and returns results in dataset order", async () => {
    let inFlight = 0;
    let peak = 0;
    const extractor = {
      async extract(job: ExtractJob) {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await sleep(job.turns[0]!.text.endsWith("a.") ? 30 : 5);
        inFlight -= 1;
        return result({ fleet_size: 1 });
      },
    };
    const done: string[] = [];
    const runs = await runItems(ITEMS, { extractor, concurrency: 2, model: "gpt-4o-mini", onItemDone: (run) => done.push(run.item.id) });
    expect(peak).toBe(2);
    expect(runs.map((run) => run.item.id)).toEqual(["a", "b", "c", "d", "e"]);
    expect(done[0]).not.toBe("a");
  });

  it("records a failed call with its error code and carries on", async () => {
    const extractor = {
      async extract(job: ExtractJob) {
        if (job.turns[0]!.text.endsWith("b.")) throw new LlmUnavailableError("The LLM is unavailable: 500");
        if (job.turns[0]!.text.endsWith("c.")) throw new Error("boom");
        return result({ fleet_size: 1 });
      },
    };
    const runs = await runItems(ITEMS, { extractor, concurrency: 3, model: "gpt-4o-mini" });
    expect(runs.map((run) => run.error?.code ?? "ok")).toEqual(["ok", "llm_unavailable", "internal_error", "ok", "ok"]);
    expect(runs.every((run) => run.model === "gpt-4o-mini")).toBe(true);
  });

  it("runs every call on the model given, as a request's options.model would", async () => {
    const models: (string | undefined)[] = [];
    const extractor = {
      async extract(job: ExtractJob) {
        models.push(job.options.model);
        return result({});
      },
    };
    await runItems(ITEMS.slice(0, 2), { extractor, concurrency: 1, model: "gpt-4.1-mini" });
    expect(models).toEqual(["gpt-4.1-mini", "gpt-4.1-mini"]);
    expect(ITEMS[0]!.job.options.model).toBeUndefined();
  });
});

/** An in-process Llm answering each request with the next scripted completion. */
function scriptedLlm(answers: (Partial<Completion> | Error)[]): Llm & { requests: CompletionRequest[] } {
  const requests: CompletionRequest[] = [];
  return {
    requests,
    async complete(request) {
      requests.push(request);
      const next = answers.shift();
      if (!next || next instanceof Error) throw next ?? new Error("no more answers");
      return { text: "", refusal: null, finishReason: "stop", usage: { prompt_tokens: 50, completion_tokens: 5 }, requests: 1, ...next };
    },
  };
}

describe("the summary judge", () => {
  const job = ITEMS[0]!.job;

  it("asks through the structured-output path and reads the verdict", async () => {
    const llm = scriptedLlm([{ text: JSON.stringify({ values: { passes: true, reason: "Faithful and complete." } }) }]);
    const judge = createSummaryJudge({ llm, model: "gpt-4o", mode: "json_schema", repairAttempts: 1 });
    const judged = await judge(job, "Said hello.", "reference a");
    expect(judged).toEqual({ judgement: { pass: true, reason: "Faithful and complete." }, usage: { prompt_tokens: 50, completion_tokens: 5 } });
    const [request] = llm.requests;
    expect(request!.model).toBe("gpt-4o");
    expect(request!.responseFormat).toMatchObject({ type: "json_schema", json_schema: { name: "summary_judgement", strict: true } });
    const user = request!.messages.at(-1)!.content;
    expect(user).toContain("Agent: Hello a.");
    expect(user).toContain('Summary to grade: "Said hello."');
    expect(user).toContain('Reference summary: "reference a"');
  });

  it("repairs a malformed verdict once, like extraction does", async () => {
    const llm = scriptedLlm([{ text: "{\"values\": {\"passes\": \"maybe\"}}" }, { text: JSON.stringify({ values: { passes: false, reason: "Wrong date." } }) }]);
    const judged = await createSummaryJudge({ llm, model: "m", mode: "json_object", repairAttempts: 1 })(job, "Booked Monday.", null);
    expect(judged.judgement).toEqual({ pass: false, reason: "Wrong date." });
    expect(judged.usage).toEqual({ prompt_tokens: 100, completion_tokens: 10 });
  });

  it("fails a missing summary without asking", async () => {
    const llm = scriptedLlm([]);
    const judged = await createSummaryJudge({ llm, model: "m", mode: "json_schema", repairAttempts: 1 })(job, null, null);
    expect(judged.judgement).toEqual({ pass: false, reason: "no summary was extracted" });
    expect(llm.requests).toHaveLength(0);
  });

  it("reports a judge that keeps failing as an error, not a verdict", async () => {
    const llm = scriptedLlm([new ExtractionFailedError("refused", { code: "llm_refused" })]);
    const judged = await createSummaryJudge({ llm, model: "m", mode: "json_schema", repairAttempts: 0 })(job, "Hi.", null);
    expect(judged.judgement).toEqual({ error: { code: "llm_refused", message: "refused" } });
  });
});
