// Counts and times every HTTP request by method, route pattern and status; and counts requests by API key name.
import type { RequestHandler } from "express";
import type { Metrics } from "../../metrics/index.js";
import { reportedStatus, routeLabel } from "./route-label.js";

export function httpMetrics(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    // "close" comes after "finish", and also when the client leaves first: every request is counted once.
    res.once("close", () => {
      metrics.httpRequest(
        { method: req.method, route: routeLabel(req, res), status: reportedStatus(res) },
        (performance.now() - started) / 1000,
      );
      const key = res.locals.client?.key;
      if (key) metrics.keyRequest(key.name, reportedStatus(res));
    });
    next();
  };
}
