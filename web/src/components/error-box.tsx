// An API error as the API said it: the code, the HTTP status, the message and each detail with its field.
import type { ApiError } from "../api.js";

/** The pipeline's routes are 404 on a service without DEBRIEF_CONFIG: say so, beside the API's own words. */
export function PipelineOff({ error }: { error: ApiError | undefined }) {
  if (error?.status !== 404) return null;
  return (
    <p class="hint">
      This Debrief runs no post-call pipeline: it does when <code>DEBRIEF_CONFIG</code> names a configuration file of profiles and
      destinations. The <a href="/console/playground">playground</a> works without one.
    </p>
  );
}

export function ErrorBox({ error, title }: { error: ApiError; title?: string }) {
  return (
    <div class="error-box" role="alert">
      {title ? <p class="error-title">{title}</p> : null}
      <p>
        <code class="error-code">{error.code}</code>
        {error.status ? <span class="muted"> (HTTP {error.status})</span> : null} {error.message}
      </p>
      {error.details.length > 0 ? (
        <ul>
          {error.details.map((detail, i) => (
            <li key={i}>
              {detail.path ? <code>{detail.path}</code> : null} {detail.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
