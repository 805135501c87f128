// Every setting Debrief reads from the environment, validated once at start-up.
// Nothing else in the code base touches process.env: the parsed `Settings` object is passed down.
import { basename, join } from "node:path";
import { z } from "zod";

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30d", "12h", "90s", "500ms" or a bare number of seconds → milliseconds. */
export function parseDurationMs(value: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * DURATION_UNITS_MS[match[2] ?? "s"]!);
}

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** "2mb", "512kb" or a bare number of bytes → bytes. */
export function parseBytes(value: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(value);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * SIZE_UNITS[(match[2] ?? "b").toLowerCase()]!);
}

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const ms = parseDurationMs(value);
      if (ms === undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${value}" is not a duration like 30d, 12h, 90s or 500ms` });
        return z.NEVER;
      }
      return ms;
    });

const bytes = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const size = parseBytes(value);
      if (size === undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${value}" is not a size like 2mb or 512kb` });
        return z.NEVER;
      }
      return size;
    });

/** Requests and tokens per minute one LLM account allows for a model; absent: not limited by Debrief. */
export interface ModelLimit {
  rpm?: number;
  tpm?: number;
}

/** Per model (`byModel`), and for every other model (`fallback`). */
export interface LlmLimits {
  byModel: Record<string, ModelLimit>;
  fallback: ModelLimit;
}

/** "gpt-4o-mini=500rpm/200000tpm,*=60rpm" → per-model limits; undefined with the reason when it does not parse. */
export function parseLlmLimits(value: string): { limits: LlmLimits } | { error: string } {
  const limits: LlmLimits = { byModel: {}, fallback: {} };
  for (const entry of value.split(",").map((part) => part.trim()).filter(Boolean)) {
    const at = entry.lastIndexOf("=");
    const model = entry.slice(0, at).trim();
    if (at <= 0 || !model) return { error: `"${entry}" is not MODEL=LIMIT[/LIMIT] (e.g. gpt-4o-mini=500rpm/200000tpm)` };
    const limit: ModelLimit = {};
    for (const part of entry.slice(at + 1).split("/")) {
      const match = /^\s*(\d+)\s*(rpm|tpm)\s*$/i.exec(part);
      if (!match || Number(match[1]) <= 0) return { error: `"${part}" in "${entry}" is not a positive number of rpm or tpm (e.g. 500rpm)` };
      limit[match[2]!.toLowerCase() as "rpm" | "tpm"] = Number(match[1]);
    }
    if (model === "*") limits.fallback = limit;
    else limits.byModel[model] = limit;
  }
  return { limits };
}

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const flag = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no"])
    .default(fallback ? "true" : "false")
    .transform((value) => ["true", "1", "yes"].includes(value));

/** The embedded model used when no OpenAI-compatible server is configured (see "The local model" in the README). */
export const DEFAULT_LOCAL_MODEL = "hf:Qwen/Qwen2.5-1.5B-Instruct-GGUF/qwen2.5-1.5b-instruct-q4_k_m.gguf";

/** Where the local model comes from: a file on this machine, or a URL it is downloaded from once. */
export type LocalModelSource = { kind: "file"; path: string } | { kind: "url"; url: string; fileName: string };

const HF_REFERENCE = /^hf:([\w.-]+)\/([\w.-]+)\/([^#]+\.gguf)(?:#([\w./-]+))?$/i;
const SAFE_FILE_NAME = /^[\w.+-]+$/;

/** "off", a file path, `hf:owner/repo/file.gguf[#revision]` or an http(s) URL → where the model comes from. */
function parseLocalModel(value: string, ctx: z.RefinementCtx): LocalModelSource | "off" {
  const text = value.trim();
  if (text === "off") return "off";
  const hf = HF_REFERENCE.exec(text);
  if (hf) {
    const [, owner, repo, path, revision] = hf as unknown as [string, string, string, string, string | undefined];
    // The address node-llama-cpp and huggingface_hub resolve such a reference to.
    const url = `https://huggingface.co/${owner}/${repo}/resolve/${revision ?? "main"}/${path.split("/").map(encodeURIComponent).join("/")}`;
    return { kind: "url", url, fileName: path.split("/").pop()! };
  }
  if (text.startsWith("hf:")) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${text}" must name the file: hf:owner/repo/file.gguf (optionally #revision)` });
    return z.NEVER;
  }
  if (/^https?:\/\//i.test(text)) {
    let fileName: string;
    try {
      fileName = decodeURIComponent(new URL(text).pathname.split("/").pop() ?? "");
    } catch {
      fileName = "";
    }
    if (!SAFE_FILE_NAME.test(fileName)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${text}" must end in a file name such as model.gguf` });
      return z.NEVER;
    }
    return { kind: "url", url: text, fileName };
  }
  return { kind: "file", path: text };
}

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default("0.0.0.0"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),

  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: z.string().url().optional(),
  DEBRIEF_MODEL: z.string().default("gpt-4o-mini"),
  DEBRIEF_STRUCTURED_OUTPUT: z.enum(["json_schema", "json_object"]).default("json_schema"),
  /** A JSON price table (USD per 1M tokens by model) added to the shipped one: read once at start-up. */
  DEBRIEF_PRICES: z.string().optional(),
  /** Prompt budget per LLM call; gpt-4o-mini has a 128k context, and we keep room for the answer. */
  DEBRIEF_MAX_INPUT_TOKENS: positiveInt(100_000),
  /** Turns repeated at the start of each chunk, so a value split across the boundary is still seen whole. */
  DEBRIEF_CHUNK_OVERLAP_TURNS: z.coerce.number().int().min(0).default(4),
  DEBRIEF_LLM_CONCURRENCY: positiveInt(8),
  DEBRIEF_LLM_TIMEOUT: duration("60s"),
  /** Retries of one LLM call after 429, 5xx, connection errors and timeouts. */
  DEBRIEF_LLM_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
  /** One budget for every instance sharing DEBRIEF_REDIS_URL: requests and tokens per minute, for every model. */
  DEBRIEF_LLM_RPM: z.coerce.number().int().positive().optional(),
  DEBRIEF_LLM_TPM: z.coerce.number().int().positive().optional(),
  /** Per model, over DEBRIEF_LLM_RPM / DEBRIEF_LLM_TPM: "gpt-4o-mini=500rpm/200000tpm,*=60rpm". */
  DEBRIEF_LLM_LIMITS: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      const parsed = parseLlmLimits(value);
      if ("error" in parsed) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: parsed.error });
        return z.NEVER;
      }
      return parsed.limits;
    }),
  /** Repair rounds after an answer that is not valid JSON or breaks the schema. */
  DEBRIEF_REPAIR_ATTEMPTS: z.coerce.number().int().min(0).max(5).default(1),
  /** Token log-probabilities (per-value confidence): auto asks and copes with a server that refuses; on: a refusal is an error. */
  DEBRIEF_LOGPROBS: z.enum(["auto", "on", "off"]).default("auto"),
  /** Variable descriptions in the prompt as well as in the JSON Schema: auto sends them once to OpenAI, which shows the schema to the model. */
  DEBRIEF_SCHEMA_IN_PROMPT: z.enum(["auto", "always", "never"]).default("auto"),

  /** The local model, used when neither OPENAI_API_KEY nor OPENAI_BASE_URL is set; "off" turns it off. */
  DEBRIEF_LOCAL_MODEL: z.string().default(DEFAULT_LOCAL_MODEL).transform(parseLocalModel),
  DEBRIEF_LOCAL_MODEL_SHA256: z
    .string()
    .regex(/^[0-9a-f]{64}$/i, "must be the file's SHA-256 as 64 hex digits")
    .transform((hash) => hash.toLowerCase())
    .optional(),
  /** Tokens each context sequence holds (prompt and answer); every one of DEBRIEF_LLM_CONCURRENCY sequences gets this. */
  DEBRIEF_LOCAL_CONTEXT: positiveInt(8_192).refine((n) => n >= 512, "must be at least 512 tokens"),
  /** Most tokens the local model may write per answer; this much room is kept free in the context for it. */
  DEBRIEF_LOCAL_ANSWER_TOKENS: positiveInt(1_024),
  /** Longest string value the local model's grammar allows, so no answer can run on until the token limit. */
  DEBRIEF_LOCAL_MAX_STRING_CHARS: positiveInt(500),

  DEBRIEF_MAX_BODY: bytes("2mb"),
  DEBRIEF_MAX_VARIABLES: positiveInt(200).refine((n) => n >= 100, "must allow at least 100 variables"),
  DEBRIEF_MAX_DESCRIPTION_CHARS: positiveInt(2_000),

  DEBRIEF_DATA_DIR: z.string().default("./data"),
  DEBRIEF_CACHE: flag(true),
  DEBRIEF_CACHE_TTL: duration("30d"),
  DEBRIEF_CACHE_MEMORY_ENTRIES: positiveInt(1_000),
  DEBRIEF_CACHE_MEMORY_BYTES: bytes("64mb"),
  DEBRIEF_CACHE_SQLITE_BYTES: bytes("1gb"),
  DEBRIEF_REDIS_URL: z.string().url().optional(),

  DEBRIEF_CONFIG: z.string().optional(),
  DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: flag(false),
  DEBRIEF_API_KEYS: z.string().optional(),
  /** Requests per API key (or per client IP without auth) per window; 0 turns rate limiting off. */
  DEBRIEF_RATE_LIMIT: z.coerce.number().int().min(0).default(600),
  DEBRIEF_RATE_LIMIT_WINDOW: duration("1m").pipe(
    z.number().min(1_000, "must be at least 1s").max(2 ** 31 - 1, "must be under 24d (the in-memory store's timer limit)"),
  ),
  /**
   * Which proxies' X-Forwarded-For to believe, for the client IP that rate limiting keys on without auth: "false"
   * (none: the socket's address), a number of hops, or addresses/subnets ("10.0.0.0/8,loopback"). Never "true" on a
   * public port: any client could then claim any address.
   */
  DEBRIEF_TRUST_PROXY: z
    .string()
    .default("false")
    .transform((value): boolean | number | string => (value === "false" ? false : value === "true" ? true : /^\d+$/.test(value) ? Number(value) : value)),
  /** How long in-flight requests may take to finish after SIGTERM/SIGINT before their connections are cut. */
  DEBRIEF_SHUTDOWN_TIMEOUT: duration("10s"),
  /** How long finished calls and delivered deliveries (which hold transcripts and phone numbers) are kept. */
  DEBRIEF_RETENTION: duration("30d"),
  /** PostgreSQL for the call store and the outbox, shared by every instance; unset: SQLite files in DEBRIEF_DATA_DIR. */
  DEBRIEF_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
    .optional(),
  DEBRIEF_DATABASE_POOL_SIZE: positiveInt(10),
  /** all: accept and work; api: accept and answer only; worker: extract and deliver only. */
  DEBRIEF_ROLE: z.enum(["all", "api", "worker"]).default("all"),
  /** How long past a destination's timeout an attempt stays claimed: after a crash, another instance retries it then. */
  DEBRIEF_DELIVERY_LEASE_GRACE: duration("30s").pipe(z.number().min(1_000, "must be at least 1s")),
});

/** `local:` and the model file's name without `.gguf`: what `meta.model` reports and what a request may name. */
export function localModelName(source: LocalModelSource): string {
  const file = source.kind === "file" ? basename(source.path) : source.fileName;
  return `local:${file.replace(/\.gguf$/i, "")}`;
}

export interface Settings {
  port: number;
  host: string;
  logLevel: z.infer<typeof EnvSchema>["LOG_LEVEL"];
  llm: {
    /**
     * "openai": a key or a base URL is set; "local": neither is, and DEBRIEF_LOCAL_MODEL names the embedded model;
     * "none": DEBRIEF_LOCAL_MODEL=off as well.
     */
    provider: "openai" | "local" | "none";
    /** False with provider "none": the service runs, extraction answers 503 llm_not_configured. */
    configured: boolean;
    apiKey: string | undefined;
    baseURL: string | undefined;
    model: string;
    structuredOutput: "json_schema" | "json_object";
    maxInputTokens: number;
    chunkOverlapTurns: number;
    concurrency: number;
    timeoutMs: number;
    maxRetries: number;
    repairAttempts: number;
    /** off: never ask for token log-probabilities; auto: ask, and stop asking a model whose server refuses; on: a refusal is an error. */
    logprobs: "auto" | "on" | "off";
    /**
     * "never": the prompt names the variables and their types only, their descriptions reach the model through the
     * JSON Schema alone (OpenAI shows it to the model); "always": the prompt describes them too. DEBRIEF_SCHEMA_IN_PROMPT
     * resolved: auto is never for OpenAI's own API in json_schema mode, always otherwise.
     */
    schemaInPrompt: "always" | "never";
    /** Present with provider "local". */
    local?: LocalModelSettings;
    /** DEBRIEF_PRICES: a price file whose models are added to the shipped table (src/llm/prices.ts). */
    pricesFile: string | undefined;
    /** DEBRIEF_LLM_RPM / _TPM / _LIMITS: the budget shared through DEBRIEF_REDIS_URL (empty: only what the server says). */
    limits: LlmLimits;
  };
  limits: { maxBodyBytes: number; maxVariables: number; maxDescriptionChars: number };
  cache: {
    /** False: every request goes to the LLM and nothing derived from a call is kept. */
    enabled: boolean;
    dataDir: string;
    ttlMs: number;
    memoryEntries: number;
    memoryBytes: number;
    sqliteBytes: number;
    redisUrl: string | undefined;
  };
  configFile: string | undefined;
  allowPrivateDestinations: boolean;
  apiKeys: string[];
  /** limit 0: off. Counted per API key (by its hash) when auth is on, else per client IP. */
  rateLimit: { limit: number; windowMs: number };
  /** Express's `trust proxy` setting (see DEBRIEF_TRUST_PROXY). */
  trustProxy: boolean | number | string;
  shutdownTimeoutMs: number;
  retentionMs: number;
  /** Where the call store and outbox live. */
  database: { url: string | undefined; poolSize: number };
  /** all: API and workers; api: accepts and answers, runs no workers; worker: extracts and delivers, serves only probes and /metrics. */
  role: "all" | "api" | "worker";
  deliveryLeaseGraceMs: number;
}

export interface LocalModelSettings {
  source: LocalModelSource;
  sha256: string | undefined;
  /** Where downloaded models are kept: DEBRIEF_DATA_DIR/models. */
  modelsDir: string;
  contextTokens: number;
  answerTokens: number;
  maxStringChars: number;
}

/**
 * auto: the descriptions once (in the JSON Schema) where the server is OpenAI's own API in json_schema mode, which shows
 * the schema, descriptions included, to the model; twice everywhere else: other servers may only constrain decoding
 * with the schema, the local model only gets a grammar, and json_object mode sends no schema through the API.
 */
export function resolveSchemaInPrompt(
  mode: "auto" | "always" | "never",
  llm: { provider: "openai" | "local" | "none"; baseURL: string | undefined; structuredOutput: "json_schema" | "json_object" },
): "always" | "never" {
  if (mode !== "auto") return mode;
  if (llm.provider !== "openai" || llm.structuredOutput !== "json_schema") return "always";
  return isOpenAiApi(llm.baseURL) ? "never" : "always";
}

/** Unset (the SDK's default) or api.openai.com. */
function isOpenAiApi(baseURL: string | undefined): boolean {
  if (baseURL === undefined) return true;
  try {
    return new URL(baseURL).hostname.toLowerCase() === "api.openai.com";
  } catch {
    return false;
  }
}

/** A local CPU generation takes far longer than an API call: the default timeout grows to match. */
const LOCAL_DEFAULT_TIMEOUT_MS = 600_000;

export class SettingsError extends Error {}

/** The raw environment, for the `${NAME}` references a DEBRIEF_CONFIG file may hold (header tokens, secrets). */
export function environment(): Record<string, string | undefined> {
  return process.env;
}

/** DEBRIEF_LLM_LIMITS per model; DEBRIEF_LLM_RPM / _TPM for every model it does not name (its `*` wins over them). */
function llmLimitsOf(e: z.infer<typeof EnvSchema>): LlmLimits {
  const fallback: ModelLimit = {
    ...(e.DEBRIEF_LLM_RPM ? { rpm: e.DEBRIEF_LLM_RPM } : {}),
    ...(e.DEBRIEF_LLM_TPM ? { tpm: e.DEBRIEF_LLM_TPM } : {}),
  };
  const limits = e.DEBRIEF_LLM_LIMITS;
  if (!limits) return { byModel: {}, fallback };
  return { byModel: limits.byModel, fallback: { ...fallback, ...limits.fallback } };
}

/** Parses the environment into Settings; an empty value counts as unset. Throws SettingsError naming each bad variable. */
export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ""));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new SettingsError(`Invalid settings:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  // The two halves of the pipeline only meet through a shared database: alone, either would wait forever for the other.
  if (e.DEBRIEF_ROLE !== "all" && !e.DEBRIEF_DATABASE_URL) {
    throw new SettingsError(
      `Invalid settings:\n  DEBRIEF_ROLE: "${e.DEBRIEF_ROLE}" needs DEBRIEF_DATABASE_URL (a PostgreSQL database the api and worker instances share); ` +
        "without one, run DEBRIEF_ROLE=all",
    );
  }
  if (e.DEBRIEF_ROLE === "worker" && !e.DEBRIEF_CONFIG) {
    throw new SettingsError(`Invalid settings:\n  DEBRIEF_ROLE: "worker" runs the post-call pipeline, which needs DEBRIEF_CONFIG (its configuration file)`);
  }
  const provider = e.OPENAI_API_KEY || e.OPENAI_BASE_URL ? "openai" : e.DEBRIEF_LOCAL_MODEL === "off" ? "none" : "local";
  // The local model decodes under a grammar: it never reads the schema's descriptions, so the prompt must carry them.
  if (e.DEBRIEF_SCHEMA_IN_PROMPT === "never" && provider === "local") {
    throw new SettingsError(
      "Invalid settings:\n  DEBRIEF_SCHEMA_IN_PROMPT: \"never\" would leave the local model without the variable descriptions (its grammar carries none); use auto or always",
    );
  }
  const local =
    provider === "local" && e.DEBRIEF_LOCAL_MODEL !== "off"
      ? {
          source: e.DEBRIEF_LOCAL_MODEL,
          sha256: e.DEBRIEF_LOCAL_MODEL_SHA256,
          modelsDir: join(e.DEBRIEF_DATA_DIR, "models"),
          contextTokens: e.DEBRIEF_LOCAL_CONTEXT,
          answerTokens: e.DEBRIEF_LOCAL_ANSWER_TOKENS,
          maxStringChars: e.DEBRIEF_LOCAL_MAX_STRING_CHARS,
        }
      : undefined;
  return {
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    llm: {
      provider,
      configured: provider !== "none",
      apiKey: e.OPENAI_API_KEY,
      baseURL: e.OPENAI_BASE_URL,
      model: local ? localModelName(local.source) : e.DEBRIEF_MODEL,
      // The local provider builds its grammar from the schema: json_object mode is for servers that cannot.
      structuredOutput: local ? "json_schema" : e.DEBRIEF_STRUCTURED_OUTPUT,
      maxInputTokens: e.DEBRIEF_MAX_INPUT_TOKENS,
      chunkOverlapTurns: e.DEBRIEF_CHUNK_OVERLAP_TURNS,
      concurrency: e.DEBRIEF_LLM_CONCURRENCY,
      timeoutMs: local && present.DEBRIEF_LLM_TIMEOUT === undefined ? LOCAL_DEFAULT_TIMEOUT_MS : e.DEBRIEF_LLM_TIMEOUT,
      maxRetries: e.DEBRIEF_LLM_MAX_RETRIES,
      repairAttempts: e.DEBRIEF_REPAIR_ATTEMPTS,
      logprobs: e.DEBRIEF_LOGPROBS,
      schemaInPrompt: resolveSchemaInPrompt(e.DEBRIEF_SCHEMA_IN_PROMPT, {
        provider,
        baseURL: e.OPENAI_BASE_URL,
        structuredOutput: local ? "json_schema" : e.DEBRIEF_STRUCTURED_OUTPUT,
      }),
      ...(local ? { local } : {}),
      pricesFile: e.DEBRIEF_PRICES,
      limits: llmLimitsOf(e),
    },
    limits: {
      maxBodyBytes: e.DEBRIEF_MAX_BODY,
      maxVariables: e.DEBRIEF_MAX_VARIABLES,
      maxDescriptionChars: e.DEBRIEF_MAX_DESCRIPTION_CHARS,
    },
    cache: {
      enabled: e.DEBRIEF_CACHE,
      dataDir: e.DEBRIEF_DATA_DIR,
      ttlMs: e.DEBRIEF_CACHE_TTL,
      memoryEntries: e.DEBRIEF_CACHE_MEMORY_ENTRIES,
      memoryBytes: e.DEBRIEF_CACHE_MEMORY_BYTES,
      sqliteBytes: e.DEBRIEF_CACHE_SQLITE_BYTES,
      redisUrl: e.DEBRIEF_REDIS_URL,
    },
    configFile: e.DEBRIEF_CONFIG,
    allowPrivateDestinations: e.DEBRIEF_ALLOW_PRIVATE_DESTINATIONS,
    apiKeys: (e.DEBRIEF_API_KEYS ?? "").split(",").map((key) => key.trim()).filter(Boolean),
    rateLimit: { limit: e.DEBRIEF_RATE_LIMIT, windowMs: e.DEBRIEF_RATE_LIMIT_WINDOW },
    trustProxy: e.DEBRIEF_TRUST_PROXY,
    shutdownTimeoutMs: e.DEBRIEF_SHUTDOWN_TIMEOUT,
    retentionMs: e.DEBRIEF_RETENTION,
    database: { url: e.DEBRIEF_DATABASE_URL, poolSize: e.DEBRIEF_DATABASE_POOL_SIZE },
    role: e.DEBRIEF_ROLE,
    deliveryLeaseGraceMs: e.DEBRIEF_DELIVERY_LEASE_GRACE,
  };
}
