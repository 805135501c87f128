// Profiles: every profile of the configuration file, with its current version, its stored calls by version, and where
// its calls go.
import { ErrorBox, PipelineOff } from "../components/error-box.js";
import type { Profile } from "../types.js";
import { useApi } from "../use-api.js";

const number = new Intl.NumberFormat("en-US");

/** "1,241 (41 under the current version)": how much a backfill would have to bring up to date. */
function callsLine(profile: Profile): string {
  const total = profile.versions.reduce((sum, entry) => sum + entry.calls, 0);
  const current = profile.versions.find((entry) => entry.current)?.calls ?? 0;
  return total === current ? number.format(total) : `${number.format(total)} (${number.format(current)} under the current version)`;
}

export function ProfilesPage() {
  const loaded = useApi<{ profiles: Profile[] }>("/v1/profiles");
  const profiles = loaded.data?.profiles;
  return (
    <section class="profiles">
      <h1>Profiles</h1>
      <p class="lead">
        Each profile of the configuration file: what it extracts, the versions its calls were extracted under, and where they go. Open one to
        re-extract its past calls after a change.
      </p>
      {loaded.error ? <ErrorBox error={loaded.error} title="The profiles could not be listed." /> : null}
      <PipelineOff error={loaded.error} />
      {profiles === undefined && !loaded.error ? <p aria-busy="true">Loading…</p> : null}
      {profiles && profiles.length === 0 ? <p class="muted">No profile is configured.</p> : null}
      {profiles && profiles.length > 0 ? (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Profile</th>
              <th scope="col">Source</th>
              <th scope="col">Variables</th>
              <th scope="col">Version</th>
              <th scope="col">Extracted calls</th>
              <th scope="col">Destinations</th>
            </tr>
          </thead>
          <tbody>
            {profiles.map((profile) => (
              <tr key={profile.name}>
                <td>
                  <a href={`/console/profiles/${encodeURIComponent(profile.name)}`}>{profile.name}</a>
                </td>
                <td>{profile.source}</td>
                <td>{profile.variables.length}</td>
                <td>
                  <code>{profile.version}</code>
                </td>
                <td>{callsLine(profile)}</td>
                <td>{profile.destinations.map((destination) => destination.name).join(", ") || <span class="muted">none</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
