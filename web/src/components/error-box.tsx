// An API error as the API said it: the code, the HTTP status, the message and each detail with its field.
import type { ApiError } from "../api";

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
