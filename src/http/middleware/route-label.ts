// The route label of a request for logs and metrics: the matched route pattern, never the raw URL.
import type { Request, RequestHandler, Response } from "express";

const PATTERN = Symbol("debrief.routePattern");
type Tracked = Request & { [PATTERN]?: string };

/**
 * Express forgets a router's mount path once an error leaves the router, so by the time the response is written
 * `req.baseUrl + req.route.path` may read "/extract" for "/v1/extract". The full pattern is remembered the moment
 * the router assigns `req.route`, while `req.baseUrl` is still the matching router's.
 */
export const trackRoute: RequestHandler = (req, _res, next) => {
  let route: Request["route"];
  Object.defineProperty(req, "route", {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (value: Request["route"]) => {
      route = value;
      if (value?.path !== undefined) (req as Tracked)[PATTERN] = `${req.baseUrl}${String(value.path)}`;
    },
  });
  next();
};

/** Notes the mount path, so a request refused before any route matched (401, 429) is still told apart. */
export const noteMount: RequestHandler = (req, res, next) => {
  res.locals.mount ??= req.baseUrl || undefined;
  next();
};

/** "/v1/deliveries/:id" when a route matched; else the mount path it was refused under; else "unmatched". */
export function routeLabel(req: Request, res: Response): string {
  return (req as Tracked)[PATTERN] ?? (res.locals.mount as string | undefined) ?? "unmatched";
}

/** The status to report: 499 (nginx's "client closed request") when the client left before the response ended. */
export function reportedStatus(res: Response): number {
  return res.writableFinished ? res.statusCode : 499;
}
