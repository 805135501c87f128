// Section 5: a 3-hour call against an 8k-token prompt budget: how many chunks, whether they run in parallel (wall
// time in LLM latencies: chunks, then one finalize round, so ≈ 2), and what the overlap and repeated
// instructions cost in prompt tokens.
import { dataDir, expectOk, llmBaseUrl, llmStats, resetLlmStats, type BenchContext, type SectionResult } from "../lib/context.js";
import { median } from "../lib/stats.js";
import { countTokensByLine } from "../lib/tokens.js";
import { asModelSees, CALL_SIZES, extractBody, generateTranscript, UNIQUE_MARKER } from "../lib/transcripts.js";

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const BUDGET = 8_000;

export async function longCalls(context: BenchContext): Promise<SectionResult> {
  const { runs, latencyMs } = context.plan.longCalls;
  const transcript = generateTranscript({ seed: 500, tokens: CALL_SIZES["3-hour"].tokens, withMarker: true });
  const body = JSON.stringify(extractBody(transcript, 10));
  const debrief = await context.startDebrief("long-calls", {
    OPENAI_API_KEY: "bench",
    OPENAI_BASE_URL: llmBaseUrl(context, latencyMs),
    LOG_LEVEL: "info",
    DEBRIEF_MAX_INPUT_TOKENS: String(BUDGET),
    DEBRIEF_DATA_DIR: dataDir(context, "long-calls"),
  });
  const samples: { wallMs: number; chunks: number; llmCalls: number; promptTokens: number; transcriptTokens: number; peakInFlight: number }[] = [];
  try {
    for (let i = 0; i < runs; i += 1) {
      const distinct = body.replaceAll(UNIQUE_MARKER, `long-${i}`);
      const transcriptTokens = countTokensByLine(asModelSees(transcript.text.replaceAll(UNIQUE_MARKER, `long-${i}`)));
      await resetLlmStats(context);
      const response = await expectOk(debrief, distinct);
      const llm = await llmStats(context);
      const meta = response.body.meta!;
      samples.push({ wallMs: response.ms, chunks: meta.chunks, llmCalls: meta.llm_calls, promptTokens: meta.usage.prompt_tokens, transcriptTokens, peakInFlight: llm.peakInFlight });
    }
  } finally {
    await debrief.stop();
  }
  const first = samples[0]!;
  const wallRatio = median(samples.map((sample) => sample.wallMs / latencyMs));
  return {
    id: "long_calls",
    title: `5. Long calls: a 3-hour call (~${transcript.tokens} tokens), DEBRIEF_MAX_INPUT_TOKENS=${BUDGET}, ${latencyMs} ms LLM`,
    figures: [
      { id: "long_calls.chunks", label: "chunks (meta.chunks)", value: first.chunks, unit: "chunks", note: `${first.llmCalls} LLM calls incl. the status/summary pass` },
      {
        id: "long_calls.wall",
        label: "wall time in LLM latencies (median)",
        value: round(wallRatio),
        unit: "× latency",
        baseline: { label: "ideal: chunks in parallel + 1 finalize round", value: 2, unit: "× latency" },
        ratio: round(wallRatio / 2),
        note: `median ${Math.round(median(samples.map((sample) => sample.wallMs)))} ms over ${samples.length} calls`,
      },
      {
        id: "long_calls.parallel",
        label: "peak LLM calls in flight",
        value: first.peakInFlight,
        unit: "calls",
        baseline: { label: "chunks", value: first.chunks, unit: "calls" },
        ratio: round(first.peakInFlight / first.chunks),
        note: "bounded by DEBRIEF_LLM_CONCURRENCY (default 8)",
      },
      {
        id: "long_calls.prompt_tokens",
        label: "prompt tokens, all LLM calls",
        value: first.promptTokens,
        unit: "tokens",
        baseline: { label: "transcript tokens (as the model sees it)", value: first.transcriptTokens, unit: "tokens" },
        ratio: round(first.promptTokens / first.transcriptTokens, 3),
        note: "overlap turns + instructions/schema repeated per chunk + finalize",
      },
    ],
    notes: [
      "Tokens are counted by the fake LLM with tiktoken o200k_base over every message plus the response_format schema (usage.prompt_tokens), summed by Debrief into meta.usage.",
    ],
    details: { samples },
  };
}
