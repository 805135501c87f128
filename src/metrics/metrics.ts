// Prometheus metrics of one service instance, in a Registry of its own so that several services can share a process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ExtractorObserver } from "../extract/index.js";
import type { LlmObserver, LlmPriority } from "../llm/index.js";
import { withDefaults, type VariableSpec } from "../schema/index.js";

type LlmOutcome = Parameters<NonNullable<LlmObserver["onAttempt"]>>[0];

/** Extractions take seconds to minutes, health checks microseconds: the buckets span both. */
const HTTP_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const LLM_SECONDS = [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120];
const DELIVERY_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const CHUNKS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32];
/** From a refill's few milliseconds to a backfill waiting out a minute's budget. */
const BUDGET_WAIT_SECONDS = [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120];

export interface MetricsOptions {
  /** Default process metrics (CPU, memory, event loop, GC); off only where a test wants a short exposition. */
  processMetrics?: boolean;
}

/** How often the event-loop delay metric samples the loop. */
const EVENT_LOOP_SAMPLE_MS = 100;

export class Metrics {
  readonly registry = new Registry();

  readonly #httpRequests: Counter<"method" | "route" | "status">;
  readonly #httpDuration: Histogram<"method" | "route" | "status">;
  readonly #keyRequests: Counter<"key" | "status">;
  readonly #llmRequests: Counter<"outcome">;
  readonly #llmDuration: Histogram<"outcome">;
  readonly #tokens: Counter<"type" | "profile" | "model">;
  readonly #cost: Counter<"profile" | "model">;
  readonly #extractedValues: Counter<"profile" | "variable" | "value">;
  readonly #budgetWait: Histogram<"priority">;
  readonly #dailyBudgetExceeded: Counter<"profile" | "action">;
  readonly #cacheLookups: Counter<"result">;
  readonly #repairRounds: Counter;
  readonly #chunks: Histogram;
  readonly #deliveries: Counter<"destination" | "outcome">;
  readonly #deliveryDuration: Histogram<"destination" | "outcome">;
  readonly #outboxDepth: Gauge;
  readonly #callsReceived: Counter<"source" | "outcome">;
  readonly #callsHeld: Counter;
  readonly #callsReviewed: Counter<"decision">;
  #readOutboxDepth: (() => number | Promise<number>) | undefined;
  #readLlmQueue: (() => number) | undefined;
  #readLlmInFlight: (() => number) | undefined;
  #readDestinationFailures: (() => Promise<ReadonlyMap<string, number>>) | undefined;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    // The event-loop delay is sampled every 100 ms, not prom-client's 10 ms: each sample is a timer waking the process,
    // and at 10 ms those wake-ups alone cost an idle instance about 0.7% of a core. A stall still shows in full.
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "debrief_", eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });

    this.#httpRequests = new Counter({
      name: "debrief_http_requests_total",
      help: "HTTP requests answered, by route pattern and status (499: the client went away first).",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.#httpDuration = new Histogram({
      name: "debrief_http_request_duration_seconds",
      help: "Time from receiving an HTTP request to finishing its response.",
      labelNames: ["method", "route", "status"],
      buckets: HTTP_SECONDS,
      registers,
    });
    // By the key's name (never the key): which integration sends what, and which is refused (issue 25).
    this.#keyRequests = new Counter({
      name: "debrief_api_key_requests_total",
      help: "Requests that presented a valid API key, by the key's name and status.",
      labelNames: ["key", "status"],
      registers,
    });
    this.#llmRequests = new Counter({
      name: "debrief_llm_requests_total",
      help: "HTTP requests to the LLM, retries included, by outcome.",
      labelNames: ["outcome"],
      registers,
    });
    this.#llmDuration = new Histogram({
      name: "debrief_llm_request_duration_seconds",
      help: "Latency of each HTTP request to the LLM, by outcome.",
      labelNames: ["outcome"],
      buckets: LLM_SECONDS,
      registers,
    });
    this.#tokens = new Counter({
      name: "debrief_llm_tokens_total",
      help: "Tokens the LLM reported, by type (prompt or completion), profile (_extract: POST /v1/extract) and model asked for. Cache hits cost none.",
      labelNames: ["type", "profile", "model"],
      registers,
    });
    this.#cost = new Counter({
      name: "debrief_llm_cost_usd_total",
      help: "What extractions cost in USD from the price table (DEBRIEF_PRICES), by profile and model; models it has no price for are not counted.",
      labelNames: ["profile", "model"],
      registers,
    });
    this.#extractedValues = new Counter({
      name: "debrief_extracted_values_total",
      help: "Values calls' first extractions found, by profile, variable and value: enum and boolean variables only (bounded label sets).",
      labelNames: ["profile", "variable", "value"],
      registers,
    });
    this.#budgetWait = new Histogram({
      name: "debrief_llm_budget_wait_seconds",
      help: "Time LLM requests waited for the shared request and token budget (DEBRIEF_LLM_RPM/TPM/LIMITS, or what the server said), by priority (live, single, backfill).",
      labelNames: ["priority"],
      buckets: BUDGET_WAIT_SECONDS,
      registers,
    });
    this.#dailyBudgetExceeded = new Counter({
      name: "debrief_llm_budget_exceeded_total",
      help:
        "Work a profile's spent daily LLM budget (budget.daily_usd) changed, by profile and action: continue (a live call extracted anyway), " +
        "wait (a live call put in waiting_for_budget until the next day), pause (a profile's backfills deferred until the next day).",
      labelNames: ["profile", "action"],
      registers,
    });
    this.#cacheLookups = new Counter({
      name: "debrief_cache_lookups_total",
      help: "Extractions answered from the result cache (hit) or computed (miss, including requests that bypass it).",
      labelNames: ["result"],
      registers,
    });
    this.#repairRounds = new Counter({
      name: "debrief_llm_repair_rounds_total",
      help: "Repair rounds: answers sent back to the model because they were not valid JSON or broke the schema.",
      registers,
    });
    this.#chunks = new Histogram({
      name: "debrief_extraction_chunks",
      help: "Chunks per extraction that ran on the LLM (a call longer than the prompt budget is split).",
      buckets: CHUNKS,
      registers,
    });
    this.#deliveries = new Counter({
      name: "debrief_deliveries_total",
      help: "Delivery attempts, by destination and outcome (delivered, retry, failed, interrupted).",
      labelNames: ["destination", "outcome"],
      registers,
    });
    this.#deliveryDuration = new Histogram({
      name: "debrief_delivery_attempt_duration_seconds",
      help: "Latency of each delivery attempt, by destination and outcome.",
      labelNames: ["destination", "outcome"],
      buckets: DELIVERY_SECONDS,
      registers,
    });
    this.#callsReceived = new Counter({
      name: "debrief_calls_received_total",
      help: "Post-call webhooks a platform sent that were recognised, by source and outcome (accepted, skipped, duplicate, ignored).",
      labelNames: ["source", "outcome"],
      registers,
    });
    this.#callsHeld = new Counter({
      name: "debrief_calls_held_total",
      help: "Calls held for review (their profile's review.hold, and a value with a flag that counts): GET /v1/calls?state=needs_review is the queue.",
      registers,
    });
    this.#callsReviewed = new Counter({
      name: "debrief_calls_reviewed_total",
      help: "Decisions on calls held for review, by decision (approved: delivered with any corrections; skipped).",
      labelNames: ["decision"],
      registers,
    });
    const metrics = this;
    this.#outboxDepth = new Gauge({
      name: "debrief_outbox_depth",
      help: "Deliveries waiting in the outbox (pending, in flight included); on PostgreSQL, the outbox every instance shares.",
      registers,
      // Asynchronous: on PostgreSQL the count is a query. If the store cannot answer, the last value stands.
      async collect() {
        if (!metrics.#readOutboxDepth) return;
        try {
          this.set(await metrics.#readOutboxDepth());
        } catch {
          // keep the last value: one slow or failed query must not fail the whole scrape
        }
      },
    });
    new Gauge({
      name: "debrief_destination_consecutive_failures",
      help:
        "Failed delivery attempts (retried or final) to each destination since its last delivered one; 0 once one gets through. " +
        "Alert on it: Debrief never disables a destination by itself. On PostgreSQL, the outbox every instance shares.",
      labelNames: ["destination"],
      registers,
      async collect() {
        if (!metrics.#readDestinationFailures) return;
        try {
          const streaks = await metrics.#readDestinationFailures();
          this.reset();
          for (const [destination, failures] of streaks) this.set({ destination }, failures);
        } catch {
          // keep the last values: one slow or failed query must not fail the whole scrape
        }
      },
    });
    new Gauge({
      name: "debrief_llm_queued_requests",
      help: "LLM requests waiting for a free slot (DEBRIEF_LLM_CONCURRENCY).",
      registers,
      collect() {
        this.set(metrics.#readLlmQueue?.() ?? 0);
      },
    });
    new Gauge({
      name: "debrief_llm_in_flight_requests",
      help: "LLM requests running now (with the local model: context sequences generating).",
      registers,
      collect() {
        this.set(metrics.#readLlmInFlight?.() ?? 0);
      },
    });
  }

  /** The Prometheus text exposition and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** One finished HTTP request; `route` is the route pattern, never the raw URL. */
  readonly httpRequest = (labels: { method: string; route: string; status: number }, seconds: number): void => {
    const values = { method: labels.method, route: labels.route, status: String(labels.status) };
    this.#httpRequests.inc(values);
    this.#httpDuration.observe(values, seconds);
  };

  /** One request made with the named API key. */
  readonly keyRequest = (key: string, status: number): void => {
    this.#keyRequests.inc({ key, status: String(status) });
  };

  /** One post-call webhook recognised as `source`'s, and what became of it. */
  readonly callReceived = (source: string, outcome: string): void => {
    this.#callsReceived.inc({ source, outcome });
  };

  /** A call was held for review. */
  readonly callHeld = (): void => {
    this.#callsHeld.inc();
  };

  /**
   * A call's first extraction: each enum and boolean variable's value (bounded label sets: an option, true or false).
   * Other values' distributions are the insights endpoint's (GET /v1/profiles/{name}/insights).
   */
  readonly valuesExtracted = (profile: string, variables: readonly VariableSpec[], values: Record<string, unknown>): void => {
    for (const spec of withDefaults([...variables])) {
      const value = values[spec.name];
      const bounded = spec.type === "boolean" ? typeof value === "boolean" : spec.type === "enum" && typeof value === "string" && (spec.options ?? []).includes(value);
      if (bounded) this.#extractedValues.inc({ profile, variable: spec.name, value: String(value) });
    }
  };

  /** A reviewer decided on a held call. */
  readonly callReviewed = (decision: string): void => {
    this.#callsReviewed.inc({ decision });
  };

  /** Hand to the LLM client. */
  readonly llmObserver: LlmObserver = {
    onAttempt: (outcome: LlmOutcome, latencyMs: number) => {
      this.#llmRequests.inc({ outcome });
      this.#llmDuration.observe({ outcome }, latencyMs / 1000);
    },
  };

  /** One LLM request that waited for the shared budget. */
  readonly budgetWait = (priority: LlmPriority, seconds: number): void => {
    this.#budgetWait.observe({ priority }, seconds);
  };

  /** A profile's daily LLM budget was spent: a live call extracted anyway or put to wait, or its backfills paused. */
  readonly dailyBudgetExceeded = (profile: string, action: "continue" | "wait" | "pause"): void => {
    this.#dailyBudgetExceeded.inc({ profile, action });
  };

  /** Hand to the Extractor. */
  readonly extractorObserver: ExtractorObserver = {
    onExtraction: ({ chunks, attempts, usage, cached, cache, profile, model, cost_usd: cost }) => {
      if (cache !== "bypass") this.#cacheLookups.inc({ result: cache });
      this.#tokens.inc({ type: "prompt", profile, model }, usage.prompt_tokens);
      this.#tokens.inc({ type: "completion", profile, model }, usage.completion_tokens);
      if (cost !== null) this.#cost.inc({ profile, model }, cost);
      // A hit reports the original extraction's attempts and chunks: that work was not done now.
      if (cached) return;
      this.#repairRounds.inc(Math.max(0, attempts - 1));
      this.#chunks.observe(chunks);
    },
  };

  /** One finished delivery attempt. Bound, so it can be passed on as `{ attempt: metrics.deliveryAttempt }`. */
  readonly deliveryAttempt = (destination: string, outcome: string, latencyMs: number): void => {
    this.#deliveries.inc({ destination, outcome });
    this.#deliveryDuration.observe({ destination, outcome }, latencyMs / 1000);
  };

  /** Sets the outbox depth now; or see `observeOutboxDepth` to read it at scrape time. */
  readonly setOutboxDepth = (depth: number): void => {
    this.#readOutboxDepth = undefined;
    this.#outboxDepth.set(depth);
  };

  /** Reads the outbox depth at every scrape (e.g. `async () => (await outbox.counts()).pending`). */
  readonly observeOutboxDepth = (read: () => number | Promise<number>): void => {
    this.#readOutboxDepth = read;
  };

  /** Reads each destination's failure streak at every scrape. */
  readonly observeDestinationFailures = (read: () => Promise<ReadonlyMap<string, number>>): void => {
    this.#readDestinationFailures = read;
  };

  /** Reads the LLM client's waiting requests at every scrape. */
  readonly observeLlmQueue = (read: () => number): void => {
    this.#readLlmQueue = read;
  };

  /** Reads the LLM requests running at every scrape. */
  readonly observeLlmInFlight = (read: () => number): void => {
    this.#readLlmInFlight = read;
  };
}
