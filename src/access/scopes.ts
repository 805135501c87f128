// The permissions an API key may hold, and the one each /v1 operation needs: enforced by the app, declared in OpenAPI.

/** Each scope opens a kind of work; `admin` opens everything (reload and the audit log included). */
export const SCOPES = ["extract", "calls:write", "calls:read", "calls:review", "calls:reanalyze", "destinations", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** What an operation needs: a scope, or `any` for what every valid key may ask (who am I). */
export type Requirement = Scope | "any";

/**
 * Every /v1 operation, as `METHOD path` in OpenAPI's spelling, and what it needs. One table, so a route and its
 * OpenAPI `security` never disagree; an operation missing from it needs `admin` (closed by default), and the test
 * that walks the OpenAPI document fails on it.
 */
export const OPERATION_SCOPES: Readonly<Record<string, Requirement>> = {
  "GET /v1/me": "any",
  "POST /v1/extract": "extract",
  "POST /v1/variables/convert": "extract",
  "POST /v1/calls": "calls:write",
  "GET /v1/calls": "calls:read",
  "GET /v1/calls/export": "calls:read",
  "GET /v1/calls/{id}": "calls:read",
  "GET /v1/callers/{phone}": "calls:read",
  "GET /v1/profiles": "calls:read",
  "GET /v1/profiles/{name}": "calls:read",
  "GET /v1/profiles/{name}/insights": "calls:read",
  "GET /v1/backfills/{id}": "calls:read",
  "GET /v1/deliveries": "calls:read",
  "GET /v1/deliveries/{id}": "calls:read",
  "POST /v1/calls/{id}/review": "calls:review",
  "POST /v1/calls/{id}/reextract": "calls:reanalyze",
  "POST /v1/calls/{id}/retry": "calls:reanalyze",
  "POST /v1/profiles/{name}/backfill": "calls:reanalyze",
  "POST /v1/backfills/{id}/cancel": "calls:reanalyze",
  "POST /v1/deliveries/{id}/retry": "calls:reanalyze",
  "GET /v1/destinations": "destinations",
  "POST /v1/destinations/{name}/test": "destinations",
  "POST /v1/admin/reload": "admin",
  "GET /v1/audit": "admin",
};

interface Pattern {
  method: string;
  path: RegExp;
  /** Literal segments first: `/v1/calls/export` is not `/v1/calls/{id}`. */
  literals: number;
  requirement: Requirement;
}

const PATTERNS: Pattern[] = Object.entries(OPERATION_SCOPES)
  .map(([operation, requirement]) => {
    const [method, template] = operation.split(" ") as [string, string];
    const segments = template.split("/");
    const source = segments.map((segment) => (/^\{.+\}$/.test(segment) ? "[^/]+" : segment.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))).join("/");
    return { method, path: new RegExp(`^${source}/?$`), literals: segments.filter((segment) => !segment.startsWith("{")).length, requirement };
  })
  .sort((a, b) => b.literals - a.literals);

/** What a request to `path` (under /v1, e.g. "/v1/calls/abc") needs; an operation nobody declared needs `admin`. */
export function requirementOf(method: string, path: string): Requirement {
  const verb = method.toUpperCase() === "HEAD" ? "GET" : method.toUpperCase();
  return PATTERNS.find((pattern) => pattern.method === verb && pattern.path.test(path))?.requirement ?? "admin";
}
