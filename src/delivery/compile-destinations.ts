// Turns the `destinations` config into ready-to-send destinations: env substituted, URLs checked, JSONata compiled once.
import jsonata from "jsonata";
import type { z } from "zod";
import { refusedUrlReason } from "./address-guard.js";
import { DESTINATION_NAME, DestinationConfigSchema, type DestinationConfig } from "./config-schema.js";
import { JSONATA_LIMITS, transformed, whenMatches, type DestinationExpressions } from "./render-bodies.js";
import { retryPolicyFromConfig, type RetryPolicy } from "./retry-policy.js";
import { assertUsableSecret } from "./signing.js";
import { formatPath, knownKeysAt, zodIssuesToDetails } from "../schema/index.js";
import { ConfigError, type ConfigIssue } from "../errors.js";

export interface CompiledDestination {
  name: string;
  url: string;
  method: "POST" | "PUT" | "PATCH";
  headers: Record<string, string>;
  secrets: string[];
  timeoutMs: number;
  retry: RetryPolicy;
  /** The `when` and `transform` sources, for rendering on a worker thread (render-bodies.ts). */
  expressions: DestinationExpressions;
  /** True when the destination should receive this enriched payload (`when` yields exactly `true`, or there is no `when`). */
  matches(payload: unknown): Promise<boolean>;
  /** The body to send for this enriched payload (`transform`, or the payload itself). */
  render(payload: unknown): Promise<unknown>;
}

type Path = readonly (string | number)[];

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** A config file's zod issues, each by path; an unknown key names the key of `schema` it most likely meant. */
export function configIssues(error: z.ZodError, schema: z.ZodTypeAny, prefix: Path): ConfigIssue[] {
  return zodIssuesToDetails(error.issues, [...prefix], (path) => knownKeysAt(schema, path)).map((detail) => ({
    path: detail.path || "(root)",
    message: detail.message,
  }));
}

/** `${NAME}` → env value; an unset or empty variable is reported, never silently sent as "". */
export function substituteEnv(value: string, env: Record<string, string | undefined>, at: Path, issues: ConfigIssue[]): string {
  return value.replace(ENV_REFERENCE, (_match, name: string) => {
    const resolved = env[name];
    if (resolved === undefined || resolved === "") {
      issues.push({ path: formatPath(at), message: `environment variable ${name} is not set` });
      return "";
    }
    return resolved;
  });
}

function compileExpression(source: string | undefined, at: Path, issues: ConfigIssue[]): jsonata.Expression | undefined {
  if (source === undefined) return undefined;
  try {
    return jsonata(source, JSONATA_LIMITS);
  } catch (error) {
    const { message, position } = error as { message?: string; position?: number };
    const where = typeof position === "number" ? ` (at character ${position})` : "";
    issues.push({ path: formatPath(at), message: `invalid JSONata expression: ${message ?? String(error)}${where}` });
    return undefined;
  }
}

function checkUrl(url: string, at: Path, issues: ConfigIssue[], allowPrivate: boolean): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    issues.push({ path: formatPath(at), message: "is not a valid URL" });
    return;
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    issues.push({ path: formatPath(at), message: "must be an https:// URL" });
  } else if (parsed.username || parsed.password) {
    issues.push({ path: formatPath(at), message: "must not contain credentials; send them in `headers` instead" });
  } else {
    // What can be told without the network (http, an IP literal that is private or loopback) is a start-up error
    // rather than a failure on every delivery; host names are still checked when connecting.
    const refused = refusedUrlReason(parsed, allowPrivate);
    if (refused) issues.push({ path: formatPath(at), message: refused });
  }
}

function compileOne(
  name: string,
  config: DestinationConfig,
  env: Record<string, string | undefined>,
  prefix: Path,
  issues: ConfigIssue[],
  allowPrivate: boolean,
): CompiledDestination {
  const at = [...prefix, name];
  const issuesBeforeUrl = issues.length;
  const url = substituteEnv(config.url, env, [...at, "url"], issues);
  if (issues.length === issuesBeforeUrl) checkUrl(url, [...at, "url"], issues, allowPrivate);

  const headers: Record<string, string> = {};
  for (const [header, raw] of Object.entries(config.headers)) {
    const value = substituteEnv(raw, env, [...at, "headers", header], issues);
    if (/[\r\n\0]/.test(value)) issues.push({ path: formatPath([...at, "headers", header]), message: "must not contain line breaks" });
    headers[header] = value;
  }

  const rawSecrets = config.secret === undefined ? [] : Array.isArray(config.secret) ? config.secret : [config.secret];
  const secrets = rawSecrets.map((raw, index) => {
    const secretPath = Array.isArray(config.secret) ? [...at, "secret", index] : [...at, "secret"];
    const before = issues.length;
    const secret = substituteEnv(raw, env, secretPath, issues);
    if (issues.length === before) {
      try {
        assertUsableSecret(secret);
      } catch (error) {
        // The message never includes the secret itself: config errors end up in logs.
        issues.push({ path: formatPath(secretPath), message: (error as Error).message });
      }
    }
    return secret;
  });

  const whenPath = formatPath([...at, "when"]);
  const transformPath = formatPath([...at, "transform"]);
  const when = compileExpression(config.when, [...at, "when"], issues);
  const transform = compileExpression(config.transform, [...at, "transform"], issues);

  return {
    name,
    url,
    method: config.method,
    headers,
    secrets,
    timeoutMs: config.timeout_ms,
    retry: retryPolicyFromConfig(config.retry),
    expressions: { name, path: formatPath(at), when: config.when, transform: config.transform },
    matches: (payload) => whenMatches(when, payload, whenPath),
    render: (payload) => transformed(transform, payload, transformPath),
  };
}

export interface CompileDestinationsOptions {
  /** DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: http and private or loopback IP literals are accepted. Default false. */
  allowPrivate?: boolean;
  /** Where the object sits in the config file, for issue paths. Default `destinations`. */
  path?: (string | number)[];
}

/**
 * Validates and compiles the `destinations` object. Throws one ConfigError listing every problem of every destination,
 * each named by its path (`destinations.crm.when: …`), so a bad file fails start-up, not a call.
 */
export function compileDestinations(
  raw: unknown,
  env: Record<string, string | undefined>,
  options: CompileDestinationsOptions = {},
): Map<string, CompiledDestination> {
  const path = options.path ?? ["destinations"];
  const destinations = new Map<string, CompiledDestination>();
  if (raw === undefined || raw === null) return destinations;
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError([{ path: formatPath(path), message: "must be an object of named destinations" }]);
  }
  const issues: ConfigIssue[] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (!DESTINATION_NAME.test(name)) {
      issues.push({ path: formatPath([...path, name]), message: "destination names are 1-64 letters, digits, '_', '.' or '-'" });
      continue;
    }
    // Each destination on its own, so one that breaks the schema does not hide the problems of the others.
    const parsed = DestinationConfigSchema.safeParse(value);
    if (!parsed.success) issues.push(...configIssues(parsed.error, DestinationConfigSchema, [...path, name]));
    else destinations.set(name, compileOne(name, parsed.data, env, path, issues, options.allowPrivate ?? false));
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return destinations;
}
