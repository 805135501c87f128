// Talks to the service's /v1 API with the signed-in key; every failure becomes an ApiError with the API's code.
import { forgetApiKey, navigate, signInUrl, storedApiKey } from "./session.js";

export interface ErrorDetail {
  path?: string;
  message: string;
}

/** The API's `{"error": {code, message, details}}`, or a network failure (status 0) in the same shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
  }
}

async function toApiError(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (body.error && typeof body.error.code === "string" && typeof body.error.message === "string") {
      return new ApiError(response.status, body.error.code, body.error.message, Array.isArray(body.error.details) ? (body.error.details as ErrorDetail[]) : []);
    }
  } catch {
    // not the API's error body (a proxy in front of the service answered): show what came back
  }
  return new ApiError(response.status, `http_${response.status}`, text.slice(0, 300) || response.statusText);
}

export interface RequestOptions {
  body?: unknown;
  /** Send this key instead of the stored one (the sign-in page checking a key), and stay on 401. */
  key?: string;
  signal?: AbortSignal;
}

/** One API call. A 401 with the stored key means it was revoked: the console forgets it and asks for one. */
export async function request<T>(method: "GET" | "POST", path: string, options: RequestOptions = {}): Promise<T> {
  const key = options.key ?? storedApiKey();
  const headers: Record<string, string> = { accept: "application/json" };
  if (key) headers.authorization = `Bearer ${key}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      credentials: "omit",
    });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw new ApiError(0, "network_error", `The service could not be reached: ${(error as Error).message}`);
  }
  if (!response.ok) {
    const error = await toApiError(response);
    if (response.status === 401 && options.key === undefined) {
      forgetApiKey();
      navigate(signInUrl(), { replace: true });
    }
    throw error;
  }
  return (await response.json()) as T;
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>("GET", path, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>("POST", path, { ...options, body }),
};

/** A query string from the set values only; arrays repeat the parameter (`state=a&state=b`). */
export function query(params: Record<string, string | string[] | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of [value].flat()) if (item !== undefined && item !== "") search.append(name, String(item));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
