// Builds evals/datasets/long_calls.jsonl: calls over an hour long, assembled from hand-written episodes with a
// seeded shuffle, every labelled fact planted at a known minute. `npx tsx evals/datasets/long-calls/build.ts`
// rewrites the file; `--check` exits 1 when the committed file differs from what this script builds.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
// The bench's seeded generator: the same sequence on every machine, so the same plan always gives the same call.
import { seededRandom } from "../../../bench/lib/transcripts.js";
import { GENERIC, type Episode, type Line } from "./episodes.js";
import { INSURANCE_REVIEW } from "./insurance-review.js";
import { ERP_DISCOVERY } from "./erp-discovery.js";
import { OUTAGE_TROUBLESHOOTING } from "./outage-troubleshooting.js";
import { BUYER_CONSULTATION } from "./buyer-consultation.js";
import type { LongCallPlan } from "./plan.js";

export const PLANS: readonly LongCallPlan[] = [INSURANCE_REVIEW, ERP_DISCOVERY, OUTAGE_TROUBLESHOOTING, BUYER_CONSULTATION];

export const OUTPUT = fileURLToPath(new URL("../long_calls.jsonl", import.meta.url));

/** How far (in minutes) a planted episode may land from its target before the build refuses the plan. */
const MAX_DRIFT_MINUTES = 4;

function seedOf(text: string): number {
  let hash = 2166136261;
  for (const char of text) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619);
  return hash >>> 0;
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface TimedLine {
  line: Line;
  /** Seconds from the start of the call. */
  start: number;
  end: number;
}

interface Assembled {
  lines: TimedLine[];
  /** Start minute of the opening, the closing and every planted episode, by key. */
  minutes: Record<string, number>;
  seconds: number;
}

const between = (random: () => number, low: number, high: number) => low + random() * (high - low);

/** The call's episodes in order, timed at a speaking pace of 2.3 to 2.8 words a second with short gaps. */
function assemble(plan: LongCallPlan): Assembled {
  const random = seededRandom(seedOf(plan.id));
  const generic = GENERIC.filter((episode) => !plan.excludeGeneric?.includes(episode.id));
  const pool = shuffled([...plan.filler, ...generic], random);
  const planted = [...plan.planted];
  const lines: TimedLine[] = [];
  const minutes: Record<string, number> = {};
  let clock = between(random, 0.5, 1.5);

  const play = (episode: Episode, key?: string) => {
    if (key) minutes[key] = Math.floor(clock / 60);
    for (const line of episode.lines) {
      let duration: number;
      if ("hold" in line) duration = line.hold;
      else if ("tool" in line) duration = between(random, 0.3, 0.8);
      else duration = Math.max(0.9, line[1].split(/\s+/).length / between(random, 2.3, 2.8));
      lines.push({ line, start: round(clock), end: round(clock + duration) });
      clock += duration + between(random, 0.4, 1.3);
    }
  };

  play(plan.opening, "opening");
  for (const episode of pool) {
    while (planted.length > 0 && clock >= planted[0]!.minute * 60) {
      const next = planted.shift()!;
      play(next.episode, next.key);
    }
    play(episode);
  }
  for (const next of planted) play(next.episode, next.key);
  play(plan.closing, "closing");

  for (const { key, minute } of plan.planted) {
    if (Math.abs(minutes[key]! - minute) > MAX_DRIFT_MINUTES) {
      throw new Error(`${plan.id}: "${key}" starts at minute ${minutes[key]}, not near ${minute}: add filler or move the target`);
    }
  }
  return { lines, minutes, seconds: clock };
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

function isoAt(start: Date, seconds: number): string {
  return new Date(start.getTime() + Math.round(seconds * 1000)).toISOString();
}

function toolId(plan: LongCallPlan, index: number): string {
  return `call_${plan.id.replace(/-/g, "")}_${index}`;
}

/** The assembled call in the plan's platform shape. */
function render(plan: LongCallPlan, lines: readonly TimedLine[]): unknown {
  const start = new Date(plan.created_at);
  const spoken = lines.filter((timed) => Array.isArray(timed.line)) as (TimedLine & { line: readonly ["A" | "C", string] })[];
  switch (plan.shape) {
    case "thoughtly":
      if (lines.some((timed) => "tool" in timed.line)) throw new Error(`${plan.id}: Thoughtly transcripts carry no tool calls`);
      return spoken.map(({ line, start: at }) => ({ transcript: line[1], speaker: line[0] === "A" ? "ai" : "user", createdAt: isoAt(start, at) }));
    case "elevenlabs":
      // Tool turns (message null) need the platform adapters of issue 12: a long call keeps to what loads today.
      if (lines.some((timed) => "tool" in timed.line)) throw new Error(`${plan.id}: ElevenLabs tool turns are not supported here`);
      return spoken.map(({ line, start: at }) => ({
        role: line[0] === "A" ? "agent" : "user",
        message: line[1],
        tool_calls: [],
        tool_results: [],
        feedback: null,
        time_in_call_secs: Math.floor(at),
        conversation_turn_metrics: null,
      }));
    case "autocalls": {
      const unix = (at: number) => Math.round((start.getTime() / 1000 + at) * 1e6) / 1e6;
      return lines.flatMap(({ line, start: at }) => {
        if ("hold" in line) return [];
        if ("tool" in line) {
          return [
            { text: `${line.tool}(${JSON.stringify(line.args)})`, type: "tool_call", sender: "bot", timestamp: unix(at) },
            { text: JSON.stringify(line.result), type: "tool_result", sender: "bot", timestamp: unix(at + 0.4) },
          ];
        }
        return [{ text: line[1], type: "transcript", sender: line[0] === "A" ? "bot" : "human", timestamp: unix(at) }];
      });
    }
    case "vapi": {
      const base = start.getTime();
      const messages: unknown[] = [{ role: "system", message: plan.system_prompt, time: base, secondsFromStart: 0 }];
      lines.forEach(({ line, start: at, end }, index) => {
        if ("hold" in line) return;
        if ("tool" in line) {
          const id = toolId(plan, index);
          messages.push({ role: "tool_calls", time: base + Math.round(at * 1000), message: "", toolCalls: [{ id, type: "function", function: { name: line.tool, arguments: JSON.stringify(line.args) } }], secondsFromStart: at });
          messages.push({ role: "tool_call_result", time: base + Math.round(at * 1000) + 400, name: line.tool, result: JSON.stringify(line.result), toolCallId: id, secondsFromStart: round(at + 0.4) });
          return;
        }
        messages.push({
          role: line[0] === "A" ? "bot" : "user",
          time: base + Math.round(at * 1000),
          endTime: base + Math.round(end * 1000),
          message: line[1],
          duration: Math.round((end - at) * 1000),
          secondsFromStart: at,
          ...(line[0] === "A" ? { source: "" } : {}),
        });
      });
      return messages;
    }
  }
}

function notesOf(plan: LongCallPlan, minutes: Record<string, number>): string {
  return plan.notes.replace(/\{(\w+)\}/g, (_, key: string) => {
    if (!(key in minutes)) throw new Error(`${plan.id}: the notes name {${key}}, which is no episode of the plan`);
    return String(minutes[key]);
  });
}

export interface LongCallStats {
  id: string;
  minutes: number;
  turns: number;
  words: number;
}

/** Every long call as one dataset line, in plan order; the stats say how long each call runs. */
export function buildLongCalls(): { text: string; stats: LongCallStats[] } {
  const stats: LongCallStats[] = [];
  const lines = PLANS.map((plan) => {
    const { lines: timed, minutes, seconds } = assemble(plan);
    const spoken = timed.filter((t) => Array.isArray(t.line)).map((t) => (t.line as readonly [string, string])[1]);
    stats.push({ id: plan.id, minutes: seconds / 60, turns: spoken.length, words: spoken.join(" ").split(/\s+/).length });
    return JSON.stringify({
      id: plan.id,
      scenario: plan.scenario,
      tags: ["long"],
      transcript: render(plan, timed),
      variables: plan.variables,
      context: {
        system_prompt: plan.system_prompt,
        call: { id: `call_${plan.id.replace(/-/g, "_")}`, created_at: plan.created_at, timezone: plan.timezone },
        ...(plan.input_variables ? { input_variables: plan.input_variables } : {}),
      },
      expected: plan.expected,
      notes: notesOf(plan, minutes),
    });
  });
  return { text: `${lines.join("\n")}\n`, stats };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { text, stats } = buildLongCalls();
  if (process.argv.includes("--check")) {
    const same = readFileSync(OUTPUT, "utf8") === text;
    process.stdout.write(same ? "long_calls.jsonl is up to date\n" : "long_calls.jsonl differs from what build.ts builds: run it again\n");
    process.exitCode = same ? 0 : 1;
  } else {
    writeFileSync(OUTPUT, text);
    for (const s of stats) process.stdout.write(`${s.id}: ${s.minutes.toFixed(1)} min, ${s.turns} turns, ${s.words} words\n`);
  }
}
