// A profile as configured: its variables, the versions its calls were extracted under, where its calls go, and the
// settings that decide which calls are extracted and held for review.
import type { Profile } from "../types.js";

const number = new Intl.NumberFormat("en-US");

function Settings({ profile }: { profile: Profile }) {
  const { gates, review, inbound } = profile;
  const auth = [inbound.secret ? "a signature secret" : null, inbound.url_token ? "a URL token" : null].filter(Boolean).join(" and ");
  return (
    <dl class="facts-list">
      <dt>Source</dt>
      <dd>{profile.source}</dd>
      <dt>Model</dt>
      <dd>{profile.model}</dd>
      <dt>Platform authentication</dt>
      <dd>{auth ? `set (${auth})` : "none: requests need an API key"}</dd>
      <dt>Extracted</dt>
      <dd>
        {gates.send_only_on_completed ? "completed calls" : "every call"}
        {gates.min_duration_s !== null ? `, of at least ${gates.min_duration_s} s` : ""}
        {gates.min_customer_turns !== null ? `, with at least ${gates.min_customer_turns} customer turns` : ""}
        {gates.skip_ended_reasons.length > 0 ? `, not ended for ${gates.skip_ended_reasons.join(", ")}` : ""}
        {gates.extract === "when_routed" ? ", only when a destination would receive them" : ""}
      </dd>
      <dt>Review</dt>
      <dd>
        {review.hold ? "flagged calls wait for a reviewer" : "flags are shown, calls are not held"} ({review.flags.join(", ") || "no flag counts"}
        {review.min_confidence !== null ? `; low confidence under ${review.min_confidence}` : ""})
      </dd>
      <dt>Evidence quotes</dt>
      <dd>{profile.evidence ? "asked for" : "off"}</dd>
      {profile.timezone ? (
        <>
          <dt>Time zone</dt>
          <dd>{profile.timezone}</dd>
        </>
      ) : null}
    </dl>
  );
}

export function ProfileDetails({ profile }: { profile: Profile }) {
  return (
    <div class="profile-details">
      <Settings profile={profile} />
      <h2>Variables</h2>
      {profile.variables.length === 0 ? (
        <p class="muted">Only the defaults (status and summary).</p>
      ) : (
        <table class="list" aria-label="Variables">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {profile.variables.map((variable) => (
              <tr key={variable.name}>
                <td>
                  <code>{variable.name}</code>
                </td>
                <td>
                  {variable.type}
                  {variable.options ? <span class="muted small"> ({variable.options.join(", ")})</span> : null}
                </td>
                <td>{variable.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Versions</h2>
      <table class="list" aria-label="Versions">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Calls extracted under it</th>
          </tr>
        </thead>
        <tbody>
          {profile.versions.map((entry) => (
            <tr key={entry.version ?? "none"}>
              <td>
                {entry.version === null ? <span class="muted">before versions existed</span> : <code>{entry.version}</code>}
                {entry.current ? <strong> (current)</strong> : null}
              </td>
              <td>{number.format(entry.calls)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Destinations</h2>
      {profile.destinations.length === 0 ? (
        <p class="muted">None: calls are stored and extracted, not delivered.</p>
      ) : (
        <ul aria-label="Destinations">
          {profile.destinations.map((destination) => (
            <li key={destination.name}>
              <a href="/console/destinations">{destination.name}</a> {destination.host ? <code class="muted">{destination.host}</code> : null}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
