// Loads an API resource for a page, optionally refreshing it while the tab is visible; keeps the last good data on screen.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError } from "./api.js";

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  /** When the data on screen was fetched. */
  updatedAt: Date | undefined;
  reload(): Promise<void>;
}

export function useApi<T>(path: string | undefined, options: { refreshMs?: number } = {}): Loaded<T> {
  const [state, setState] = useState<Omit<Loaded<T>, "reload">>({ data: undefined, error: undefined, loading: path !== undefined, updatedAt: undefined });
  const current = useRef(path);
  current.current = path;
  const inFlight = useRef<AbortController | undefined>(undefined);

  const reload = useCallback(async () => {
    if (path === undefined) return;
    inFlight.current?.abort();
    const controller = new AbortController();
    inFlight.current = controller;
    setState((previous) => ({ ...previous, loading: true }));
    try {
      const data = await api.get<T>(path, { signal: controller.signal });
      if (current.current === path) setState({ data, error: undefined, loading: false, updatedAt: new Date() });
    } catch (error) {
      if ((error as Error).name === "AbortError") return;
      const failure = error instanceof ApiError ? error : new ApiError(0, "client_error", (error as Error).message);
      if (current.current === path) setState((previous) => ({ ...previous, error: failure, loading: false }));
    }
  }, [path]);

  useEffect(() => {
    // Another resource: what was on screen belongs to the previous one.
    setState({ data: undefined, error: undefined, loading: path !== undefined, updatedAt: undefined });
    void reload();
    return () => inFlight.current?.abort();
  }, [reload]);

  useEffect(() => {
    if (!options.refreshMs || path === undefined) return;
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") void reload();
    }, options.refreshMs);
    return () => clearInterval(timer);
  }, [reload, options.refreshMs]);

  return { ...state, reload };
}
