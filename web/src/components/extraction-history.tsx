// A call's extractions, newest first: which profile version each ran under, what made it, whether it was delivered,
// and what it changed against the one before (re-extractions after a profile change, backfills).
import { displayValue } from "../format.js";
import type { ExtractionSummary } from "../types.js";
import { When } from "./when.js";

const TRIGGERS = { live: "the call arriving", api: "a re-extraction", backfill: "a backfill" } as const;

/**
 * `routed`: the events that reached the outbox. An entry whose event has not (a re-extraction held for review) says it
 * waits, rather than "as event N".
 */
export function ExtractionHistory({ extraction, routed }: { extraction: ExtractionSummary; routed: ReadonlySet<number> }) {
  const { history } = extraction;
  return (
    <section aria-labelledby="history-heading">
      <h2 id="history-heading">Extraction history</h2>
      <p class="muted small">
        {extraction.current
          ? `Extracted under the profile's current version (${extraction.current_profile_version}).`
          : `The profile has changed since (now ${extraction.current_profile_version ?? "unknown"}): re-extract the call, or backfill the profile, for values under the current version.`}
      </p>
      <table class="history">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">When</th>
            <th scope="col">Made by</th>
            <th scope="col">Profile version</th>
            <th scope="col">Delivered</th>
            <th scope="col">Changes against the one before</th>
          </tr>
        </thead>
        <tbody>
          {history.map((entry, index) => {
            const older = history[index + 1]?.extracted_variables;
            return (
              <tr key={entry.seq} id={`extraction-${entry.seq}`}>
                <td>{entry.seq}</td>
                <td>
                  <When iso={entry.created_at} />
                </td>
                <td>{TRIGGERS[entry.trigger]}</td>
                <td>
                  <code>{entry.profile_version ?? "–"}</code>
                </td>
                <td>
                  {entry.event === null ? (
                    <span class="muted">not delivered</span>
                  ) : routed.has(entry.event) ? (
                    `as event ${entry.event}`
                  ) : (
                    <span class="muted">held for review: event {entry.event} once approved</span>
                  )}
                </td>
                <td class="changes">
                  {entry.changed === null ? (
                    <span class="muted">first extraction</span>
                  ) : entry.changed.length === 0 ? (
                    <span class="muted">no change</span>
                  ) : (
                    <ul>
                      {entry.changed.map((name) => (
                        <li key={name}>
                          <code>{name}</code>: <del>{older ? displayValue(older[name] ?? null) : "?"}</del> → <ins>{displayValue(entry.extracted_variables[name] ?? null)}</ins>
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
