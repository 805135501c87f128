// The API key the console signed in with: kept in this tab's sessionStorage (gone when the tab closes, never sent to
// another tab or site). /docs/ reads the same entry ("debrief.apiKey", see src/http/routes/docs.ts).
const KEY = "debrief.apiKey";

export function storedApiKey(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function saveApiKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function forgetApiKey(): void {
  sessionStorage.removeItem(KEY);
}

/** Moves the console to another of its pages without reloading (the router follows popstate). */
export function navigate(url: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  dispatchEvent(new PopStateEvent("popstate"));
}

/** The sign-in page, coming back to `next` (this page by default) once a key is accepted. */
export function signInUrl(next = location.pathname + location.search): string {
  return `/console/sign-in?next=${encodeURIComponent(next)}`;
}
