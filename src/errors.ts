// The error hierarchy every layer throws and the HTTP layer maps to `{"error": {code, message, details}}`, and the
// configuration file's own error, which stops start-up instead.

export interface ErrorDetail {
  /** JSON path of the offending field, e.g. "variables[2].options" or "transcript[4]". */
  path?: string;
  message: string;
  [extra: string]: unknown;
}

export class DebriefError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: ErrorDetail[];
  readonly headers: Record<string, string>;

  constructor(
    code: string,
    status: number,
    message: string,
    options: { details?: ErrorDetail[]; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = options.details ?? [];
    this.headers = options.headers ?? {};
  }
}

/** The client sent something we cannot work with (400 unless stated). */
export class InvalidRequestError extends DebriefError {
  constructor(message: string, details: ErrorDetail[] = [], code = "invalid_request", status = 400) {
    super(code, status, message, { details });
  }
}

/** No LLM is configured: the service runs, but cannot extract. */
export class LlmNotConfiguredError extends DebriefError {
  constructor() {
    super(
      "llm_not_configured",
      503,
      "No LLM is configured. Set OPENAI_API_KEY (for OpenAI) or OPENAI_BASE_URL (for an OpenAI-compatible server such as vLLM or Ollama), and optionally DEBRIEF_MODEL.",
    );
  }
}

/** Nobody waits for the answer any more (the client closed the connection): the work was given up. */
export class RequestCancelledError extends DebriefError {
  constructor(options: { cause?: unknown } = {}) {
    super("request_aborted", 400, "The client closed the request before the answer was ready", options);
  }
}

/** The LLM could not be reached or kept failing after retries (429, 5xx, connection errors). */
export class LlmUnavailableError extends DebriefError {
  constructor(message: string, options: { cause?: unknown; retryAfterMs?: number } = {}) {
    super("llm_unavailable", 502, message, {
      cause: options.cause,
      headers: options.retryAfterMs ? { "Retry-After": String(Math.ceil(options.retryAfterMs / 1000)) } : {},
    });
  }
}

/** The LLM did not answer within the timeout, after retries. */
export class LlmTimeoutError extends DebriefError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("llm_timeout", 504, message, options);
  }
}

/** The LLM answered, but never with a value that passes validation (after repair rounds), or refused. */
export class ExtractionFailedError extends DebriefError {
  readonly rawText: string | undefined;
  constructor(
    message: string,
    options: { details?: ErrorDetail[]; rawText?: string; code?: string } = {},
  ) {
    super(options.code ?? "extraction_failed", 502, message, { details: options.details });
    this.rawText = options.rawText;
  }
}

export class NotFoundError extends DebriefError {
  constructor(message: string) {
    super("not_found", 404, message);
  }
}

/** The resource exists but is not in a state that allows the operation (e.g. replaying a delivered call). */
export class ConflictError extends DebriefError {
  constructor(message: string, details: ErrorDetail[] = [], code = "conflict") {
    super(code, 409, message, { details });
  }
}

/** A platform's webhook signature is missing or does not verify; `check` (logged) says which check failed. */
export class InvalidSignatureError extends DebriefError {
  readonly check: string;
  constructor(check: string, message: string) {
    super("invalid_signature", 401, message);
    this.check = check;
  }
}

/** What to do when the local model cannot serve: the two ways to get a working LLM. */
const LOCAL_MODEL_REMEDY =
  "Set OPENAI_API_KEY (or OPENAI_BASE_URL for an OpenAI-compatible server), or put a GGUF model file on this machine and set DEBRIEF_LOCAL_MODEL to its path.";

/** The local model is still being downloaded or loaded: retry shortly (/readyz tells when it is ready). */
export class LocalModelLoadingError extends DebriefError {
  constructor(progress: number | undefined) {
    const done = progress === undefined ? "" : ` (downloaded ${Math.floor(progress * 100)}%)`;
    super("local_model_loading", 503, `The local model is still loading${done}. Retry shortly: GET /readyz answers 200 once it is ready.`, {
      headers: { "Retry-After": "10" },
    });
  }
}

/** The local model could not be downloaded or loaded; the reason was logged at start-up. */
export class LocalModelUnavailableError extends DebriefError {
  constructor(reason: string, options: { cause?: unknown } = {}) {
    super("local_model_unavailable", 503, `The local model is unavailable: ${reason}. ${LOCAL_MODEL_REMEDY}`, options);
  }
}

/** node-llama-cpp is an optional dependency: a lean install (npm ci --omit=optional) has no local runtime. */
export class LocalRuntimeNotInstalledError extends DebriefError {
  constructor(options: { cause?: unknown } = {}) {
    super(
      "local_runtime_not_installed",
      503,
      "The local model runtime (the optional package node-llama-cpp) is not installed: this is a lean install. Run `npm install` without --omit=optional (or use the Docker image's `local` target), or set OPENAI_API_KEY (or OPENAI_BASE_URL).",
      options,
    );
  }
}

export interface ConfigIssue {
  /** Dotted path into the configuration file, e.g. "destinations.crm.headers.X-API-Token". */
  path: string;
  message: string;
}

/**
 * The configuration file (DEBRIEF_CONFIG) cannot be used; thrown at start-up so a bad file never reaches a call. Not a
 * DebriefError: it never reaches a client as such (a reload answers its issues as InvalidConfigError).
 */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(`Invalid configuration:\n${issues.map((issue) => `  ${issue.path}: ${issue.message}`).join("\n")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}
