// Sign in with an API key (when DEBRIEF_API_KEYS is set): the key is checked against the API, then kept in this tab.
import { useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { api, ApiError } from "../api.js";
import { ErrorBox } from "../components/error-box.js";
import { navigate, saveApiKey } from "../session.js";

/** Only a path on this site: a crafted link must not send the key's owner elsewhere after signing in. */
function safeNext(next: string | undefined): string {
  return next && /^\/(console|docs)(\/|$)/.test(next) ? next : "/console/";
}

export function SignInPage() {
  const { query } = useLocation();
  const [key, setKey] = useState("");
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [checking, setChecking] = useState(false);
  const next = safeNext(query.next);

  const submit = async (event: Event) => {
    event.preventDefault();
    const candidate = key.trim();
    if (!candidate) return;
    setChecking(true);
    setError(undefined);
    try {
      // Any valid key may ask who it is, whatever its scopes: a wrong key is a 401.
      await api.get("/v1/me", { key: candidate });
      accept(candidate);
    } catch (failure) {
      const apiError = failure as ApiError;
      if (apiError.status === 401 || apiError.status === 0 || apiError.status === 429) setError(apiError);
      else accept(candidate);
    } finally {
      setChecking(false);
    }
  };

  const accept = (candidate: string) => {
    saveApiKey(candidate);
    // /docs/ is another page: load it; a console page is routed here.
    if (next.startsWith("/docs")) location.assign(next);
    else navigate(next, { replace: true });
  };

  return (
    <section class="sign-in">
      <h1>Sign in</h1>
      <p>
        This Debrief requires an API key (one of <code>DEBRIEF_API_KEYS</code>, or a key of the configuration file). It is kept in this browser tab only, until you sign out or
        close the tab.
      </p>
      <form onSubmit={submit}>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="current-password"
          autoFocus
          required
          value={key}
          onInput={(event) => setKey((event.currentTarget as HTMLInputElement).value)}
          aria-invalid={error?.status === 401 ? "true" : undefined}
          aria-describedby={error ? "sign-in-error" : undefined}
        />
        <button type="submit" disabled={checking}>
          {checking ? "Checking…" : "Sign in"}
        </button>
      </form>
      {error ? (
        <div id="sign-in-error">
          <ErrorBox error={error} title={error.status === 401 ? "That key was refused." : "The key could not be checked."} />
        </div>
      ) : null}
    </section>
  );
}
