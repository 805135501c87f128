// The worker threads' side of the offload pool: one entry that runs each kind of task.
import { planCalls, type PlanInput, type PlanResult } from "../extract/plan.js";
import { renderBodies, type DestinationExpressions, type RenderedBody } from "../delivery/render-bodies.js";
import type { InsightFigures, InsightsQuery } from "../calls/store/insights-sql.js";
import { sqliteInsights } from "./sqlite-insights.js";

export type Task =
  | { kind: "plan"; input: PlanInput }
  | { kind: "renderBodies"; payload: unknown; destinations: readonly DestinationExpressions[] }
  | { kind: "sqliteInsights"; file: string; query: InsightsQuery };

export default async function runTask(task: Task): Promise<PlanResult | RenderedBody[] | InsightFigures> {
  switch (task.kind) {
    case "plan":
      return planCalls(task.input);
    case "renderBodies":
      return renderBodies(task.payload, task.destinations);
    case "sqliteInsights":
      return sqliteInsights(task.file, task.query);
  }
}
