// Is a value the model is 90% sure of right 90% of the time? Per-value confidence, read from an extraction result
// when it carries one, and the answers grouped into confidence buckets.
import { z } from "zod";
import type { Calibration } from "./report-schema.js";

/** `confidence: {variable: 0..1}` beside `extracted_variables`, for non-null values, when the server gave log-probabilities. */
const ConfidenceSchema = z.record(z.number().min(0).max(1));

/** The result's confidence map; undefined when it has none (or one in another shape: never a guessed number). */
export function readConfidence(result: object): Record<string, number> | undefined {
  const parsed = ConfidenceSchema.safeParse((result as { confidence?: unknown }).confidence);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Lower edges of the buckets, the last one closed at 1. Finer at the top, where log-probability confidence crowds:
 * a bucket from 0.5 to 1 would hide whether 0.99 means 99%.
 */
export const BUCKET_EDGES: readonly number[] = [0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1];

export interface ConfidencePoint {
  confidence: number;
  correct: boolean;
}

/** Groups answers by confidence; every bucket is listed (n 0 where empty), and ECE weighs each gap by its n. */
export function calibrate(points: readonly ConfidencePoint[], edges: readonly number[] = BUCKET_EDGES): Calibration {
  const buckets = edges.slice(0, -1).map((from, i) => {
    const to = edges[i + 1]!;
    const last = i === edges.length - 2;
    const inside = points.filter((p) => p.confidence >= from && (p.confidence < to || (last && p.confidence <= to)));
    const n = inside.length;
    return {
      from,
      to,
      n,
      mean_confidence: n === 0 ? null : inside.reduce((sum, p) => sum + p.confidence, 0) / n,
      accuracy: n === 0 ? null : inside.filter((p) => p.correct).length / n,
    };
  });
  const counted = buckets.reduce((sum, b) => sum + b.n, 0);
  const ece =
    counted === 0 ? null : buckets.reduce((sum, b) => (b.n === 0 ? sum : sum + (b.n / counted) * Math.abs(b.accuracy! - b.mean_confidence!)), 0);
  return { fields: counted, buckets, ece };
}
