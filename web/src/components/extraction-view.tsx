// A transcript beside its extracted values, linked both ways: a value's quote is highlighted in the transcript; clicking
// the value scrolls to its quote and flashes it, and hovering (or focusing) a quote shows its value and marks its row.
// An object or a list of objects is judged per leaf: each leaf with a quote, a confidence or flags gets a row of its
// own under its variable, named by its path (`contact.email`, `items[1].quantity`).
import { useMemo, useRef, useState } from "preact/hooks";
import { pathsWithin, valueAtPath } from "../../../src/extract/paths.js";
import { displayValue, valueType } from "../format.js";
import { highlightTurns, type EvidenceItem } from "../highlight.js";
import type { Turn } from "../types.js";


interface Props {
  turns: readonly Turn[];
  /** Null before extraction: the transcript is shown alone. */
  values: Record<string, unknown> | null;
  /** What to say in place of the values when there are none. */
  noValues?: string;
  /** By variable name, or by leaf path inside a nested one. */
  evidence: Record<string, EvidenceItem | null | undefined> | null | undefined;
  /** Declared types by variable name (the playground's table); without them, each value's JSON type is shown. */
  types?: Record<string, string>;
  /** Review flags by variable name or leaf path: the row is marked, with its flags. */
  flags?: Record<string, string[]>;
  /** Confidence (0..1) by variable name or leaf path, shown beside the value. */
  confidence?: Record<string, number> | null;
  /** Values a reviewer corrected: what the model had said, by variable name. */
  modelSaid?: Record<string, unknown>;
}

const rowId = (name: string) => `value-${name}`;

/** A value's review flags and confidence, under it: why a human might check it. */
export function ValueJudgement({ flags, confidence }: { flags: string[] | undefined; confidence: number | undefined }) {
  if (!flags && confidence === undefined) return null;
  return (
    <div class="judgement small">
      {flags?.map((flag) => (
        <span key={flag} class="badge badge-busy flag">
          {flag.replaceAll("_", " ")}
        </span>
      ))}
      {confidence !== undefined ? <span class="muted">confidence {Math.round(confidence * 100)}%</span> : null}
    </div>
  );
}
const SPEAKERS: Record<string, string> = { agent: "Agent", customer: "Customer" };

export function ExtractionView({ turns, values, evidence, types, flags, confidence, modelSaid, noValues = "Not extracted yet." }: Props) {
  const [active, setActive] = useState<string | undefined>(undefined);
  const [flashing, setFlashing] = useState<string | undefined>(undefined);
  const transcript = useRef<HTMLOListElement>(null);
  const { segments, located, missing } = useMemo(() => highlightTurns(turns, evidence ?? {}), [turns, evidence]);

  const showQuote = (name: string) => {
    const mark = transcript.current?.querySelector<HTMLElement>(`mark[data-names~="${CSS.escape(name)}"]`);
    if (!mark) return;
    mark.scrollIntoView({ block: "center", behavior: "smooth" });
    mark.focus({ preventScroll: true });
    // Off, then on in the next frame: the animation starts again when the same value is clicked twice.
    setFlashing(undefined);
    requestAnimationFrame(() => setFlashing(name));
  };

  /** A value's name (or a leaf's path, shown from its variable on), a link to its quote when it has one. */
  const nameCell = (key: string, label: string) =>
    located[key] !== undefined ? (
      <button type="button" class="link" onClick={() => showQuote(key)} title="Show its quote in the transcript">
        {label}
      </button>
    ) : (
      label
    );
  const quoteCell = (key: string) => (evidence?.[key]?.quote ? <q>{evidence[key]!.quote}</q> : <span class="muted">–</span>);

  return (
    <div class="extraction">
      <section class="panel transcript-panel" aria-labelledby="transcript-heading">
        <h3 id="transcript-heading">Transcript</h3>
        {turns.length === 0 ? <p class="muted">No transcript.</p> : null}
        <ol class="transcript" ref={transcript}>
          {segments.map((pieces, index) => (
            <li key={index} class={`turn turn-${turns[index]!.speaker}`}>
              <span class="speaker">{SPEAKERS[turns[index]!.speaker] ?? turns[index]!.speaker}</span>
              <span class="turn-text">
                {pieces.map((piece, i) =>
                  piece.names.length === 0 ? (
                    piece.text
                  ) : (
                    <mark
                      key={i}
                      class={["quote", piece.names.length > 1 ? "overlap" : "", active && piece.names.includes(active) ? "active" : "", flashing && piece.names.includes(flashing) ? "flash" : ""].join(" ").trim()}
                      data-names={piece.names.join(" ")}
                      data-tip={piece.names.map((name) => `${name}: ${displayValue(values ? valueAtPath(values, name) : undefined)}`).join("\n")}
                      tabIndex={0}
                      aria-describedby={piece.names.map(rowId).join(" ")}
                      onMouseEnter={() => setActive(piece.names[0])}
                      onMouseLeave={() => setActive(undefined)}
                      onFocus={() => setActive(piece.names[0])}
                      onBlur={() => setActive(undefined)}
                      onAnimationEnd={() => setFlashing(undefined)}
                    >
                      {piece.text}
                    </mark>
                  ),
                )}
              </span>
            </li>
          ))}
        </ol>
        {missing.length > 0 ? <p class="muted">Quotes not found in this transcript: {missing.join(", ")}</p> : null}
      </section>
      <section class="panel values-panel" aria-labelledby="values-heading">
        <h3 id="values-heading">Values</h3>
        {values === null ? <p class="muted">{noValues}</p> : null}
        <table class="values" hidden={values === null}>
          <thead>
            <tr>
              <th scope="col">Variable</th>
              <th scope="col" title={types ? undefined : "The profile's declared types are not part of the call: this is each value's JSON type"}>
                {types ? "Type" : "JSON type"}
              </th>
              <th scope="col">Value</th>
              <th scope="col">Evidence</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(values ?? {}).flatMap(([name, value]) => {
              const leaves = pathsWithin(name, value, [...Object.keys(evidence ?? {}), ...Object.keys(confidence ?? {}), ...Object.keys(flags ?? {})]);
              return [
                <tr key={name} id={rowId(name)} class={[active === name ? "active" : "", flags?.[name] ? "flagged" : ""].join(" ").trim() || undefined}>
                  <th scope="row">{nameCell(name, name)}</th>
                  <td>
                    <code>{valueType(value, types?.[name])}</code>
                  </td>
                  <td class={value === null ? "value null" : "value"}>
                    <span class="shown">{value === null ? "null (not said)" : displayValue(value)}</span>
                    <ValueJudgement flags={flags?.[name]} confidence={confidence?.[name]} />
                    {modelSaid && name in modelSaid ? <div class="muted small">corrected by a reviewer; the model said {displayValue(modelSaid[name])}</div> : null}
                  </td>
                  <td class="evidence">{quoteCell(name)}</td>
                </tr>,
                ...leaves.map((path) => {
                  const leaf = valueAtPath(values ?? {}, path);
                  return (
                    <tr key={path} id={rowId(path)} class={["leaf", active === path ? "active" : "", flags?.[path] ? "flagged" : ""].join(" ").trim()}>
                      <th scope="row" class="leaf-path">{nameCell(path, path)}</th>
                      <td>
                        <code>{valueType(leaf)}</code>
                      </td>
                      <td class={leaf === null || leaf === undefined ? "value null" : "value"}>
                        <span class="shown">{leaf === null || leaf === undefined ? "null (not said)" : displayValue(leaf)}</span>
                        <ValueJudgement flags={flags?.[path]} confidence={confidence?.[path]} />
                      </td>
                      <td class="evidence">{quoteCell(path)}</td>
                    </tr>
                  );
                }),
              ];
            })}
          </tbody>
        </table>
      </section>
    </div>
  );
}
