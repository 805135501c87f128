// The zod schema of the config file's `destinations` object: shape only; env, URLs and expressions are checked by compileDestinations.
import { z } from "zod";
import { retryConfigSchema } from "./retry-policy.js";

/** Used in `/v1/destinations/:name/test` and in logs, so kept URL- and log-safe. */
export const DESTINATION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Headers Debrief computes itself; letting config set them would break signing or framing. */
const RESERVED_HEADERS = new Set(["webhook-id", "webhook-timestamp", "webhook-signature", "content-length", "host", "transfer-encoding", "connection"]);

const HeadersSchema = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  for (const name of Object.keys(headers)) {
    if (!HEADER_NAME.test(name)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [name], message: "is not a valid HTTP header name" });
    } else if (RESERVED_HEADERS.has(name.toLowerCase())) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [name], message: "is set by Debrief and cannot be configured" });
    }
  }
});

/** Someone else's server: no sooner than 100 ms apart, at most 50 tries. */
const RetrySchema = retryConfigSchema({ minDelayMs: 100, maxAttempts: 50 });

const SecretSchema = z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(10)]);

export const DestinationConfigSchema = z
  .object({
    /** May contain `${ENV_VAR}` references. */
    url: z.string().min(1),
    method: z.enum(["POST", "PUT", "PATCH"]).default("POST"),
    /** Values may contain `${ENV_VAR}` references. */
    headers: HeadersSchema.default({}),
    /** `whsec_…`, or a list of them while rotating; may be a `${ENV_VAR}` reference. */
    secret: SecretSchema.optional(),
    /** JSONata on the enriched payload; the call is sent only when it yields `true`. */
    when: z.string().min(1).optional(),
    /** JSONata on the enriched payload that builds the body; default: the payload itself. */
    transform: z.string().min(1).optional(),
    timeout_ms: z.number().int().min(100).max(120_000).default(15_000),
    retry: RetrySchema.optional(),
  })
  .strict();

export const DestinationsConfigSchema = z.record(
  z.string().regex(DESTINATION_NAME, "destination names are 1-64 letters, digits, '_', '.' or '-'"),
  DestinationConfigSchema,
);

export type DestinationConfig = z.infer<typeof DestinationConfigSchema>;
