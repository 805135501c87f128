// Evaluates destinations' `when` and `transform` (JSONata) on one enriched payload and serialises each body: the
// CPU-heavy part of enqueueing, pure data in and out so it can run on a worker thread.
import jsonata from "jsonata";
import { DeliveryExpressionError } from "./errors.js";
import { explainWhenFalse } from "./when-reads.js";

/** Guards against a runaway expression (`$map` over a huge range, deep recursion) blocking the thread. */
export const JSONATA_LIMITS = { timeout: 1_000, stack: 500 };

/** A destination's expressions as written in the config file, and where (for error messages). */
export interface DestinationExpressions {
  name: string;
  /** `destinations.<name>`: expression errors are reported as `<path>.when` / `<path>.transform`. */
  path: string;
  when?: string;
  transform?: string;
}

export type RenderedBody =
  | { destination: string; kind: "body"; body: string }
  /** `when` was not true for this payload; `reason` says what it read. */
  | { destination: string; kind: "skipped"; reason: string }
  | { destination: string; kind: "error"; path: string; message: string };

/** Compiled once per expression text (config files hold a handful): every thread keeps its own. */
const compiled = new Map<string, jsonata.Expression>();
function expressionOf(source: string): jsonata.Expression {
  let expression = compiled.get(source);
  if (!expression) compiled.set(source, (expression = jsonata(source, JSONATA_LIMITS)));
  return expression;
}

export async function evaluateExpression(expression: jsonata.Expression, payload: unknown, path: string): Promise<unknown> {
  try {
    return await expression.evaluate(payload);
  } catch (error) {
    throw new DeliveryExpressionError(path, `evaluation failed: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
}

/** Only a real `true` counts: "yes", 1 or a non-empty array must not send a call by accident. */
export async function whenMatches(when: jsonata.Expression | undefined, payload: unknown, path: string): Promise<boolean> {
  return when === undefined || (await evaluateExpression(when, payload, path)) === true;
}

/** The body for this payload: `transform`'s result, or the payload itself. */
export async function transformed(transform: jsonata.Expression | undefined, payload: unknown, path: string): Promise<unknown> {
  if (!transform) return payload;
  const body = await evaluateExpression(transform, payload, path);
  if (body === undefined) throw new DeliveryExpressionError(path, "produced no value for this payload");
  return body;
}

export async function renderBodies(payload: unknown, destinations: readonly DestinationExpressions[]): Promise<RenderedBody[]> {
  const rendered: RenderedBody[] = [];
  for (const { name, path, when, transform } of destinations) {
    try {
      if (!(await whenMatches(when === undefined ? undefined : expressionOf(when), payload, `${path}.when`))) {
        rendered.push({ destination: name, kind: "skipped", reason: await explainWhenFalse(when!, payload) });
        continue;
      }
      const body = JSON.stringify(await transformed(transform === undefined ? undefined : expressionOf(transform), payload, `${path}.transform`));
      if (body === undefined) throw new DeliveryExpressionError(`${path}.transform`, "produced no JSON value for this payload");
      rendered.push({ destination: name, kind: "body", body });
    } catch (error) {
      if (!(error instanceof DeliveryExpressionError)) throw error;
      rendered.push({ destination: name, kind: "error", path: error.path, message: error.message });
    }
  }
  return rendered;
}
