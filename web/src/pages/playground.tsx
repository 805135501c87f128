// Playground: a transcript in any shape /v1/extract reads, variables edited in a table (objects and lists of objects as
// nested tables, formats, patterns, examples; or loaded from a profile, or imported from another platform), one
// run with evidence, and the result shown as on a call's page, with confidence and review flags. The request can be
// copied as curl, the variables as a profile's YAML.
import { useMemo, useState } from "preact/hooks";
import { normalizeTranscript } from "../../../src/transcript/normalize.js";
import { api, ApiError } from "../api.js";
import { ErrorBox } from "../components/error-box.js";
import { ExtractionView } from "../components/extraction-view.js";
import { CopyBlock } from "../components/copy-block.js";
import { curlCommand, emptyRow, problemsByRow, profileYaml, rowAt, rowsFromVariables, variablesFromRows, type VariableRow } from "../playground-export.js";
import { VariableTable } from "../components/variable-table.js";
import { storedApiKey } from "../session.js";
import type { ExtractResult, Profile } from "../types.js";
import { useApi } from "../use-api.js";

const SAMPLE_TRANSCRIPT = [
  "AI: Hi, is this Dana?",
  "Customer: Yes. We need the AC repaired, my boss capped it at four thousand.",
  "AI: Can we come next Tuesday?",
  "Customer: Tuesday works. Actually, make that Wednesday.",
].join("\n");

const SAMPLE_ROWS: VariableRow[] = [
  { name: "budget", type: "number", options: "", description: "Budget the customer states, in USD" },
  { name: "service_type", type: "enum", options: "cleaning, repair", description: "What the customer needs" },
  { name: "appointment_date", type: "date", options: "", description: "The date the visit is booked for" },
  { name: "decision_maker", type: "boolean", options: "", description: "Whether the caller makes the final decision" },
];

interface Draft {
  transcript: string;
  rows: VariableRow[];
  systemPrompt: string;
  callTime: string;
  timezone: string;
  model: string;
  cache: boolean;
}

// Kept while the tab lives: leaving the playground for a call's page and coming back finds it as it was.
let draft: Draft = {
  transcript: SAMPLE_TRANSCRIPT,
  rows: SAMPLE_ROWS,
  systemPrompt: "",
  callTime: "",
  timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
  model: "",
  cache: true,
};

/** JSON when it looks like JSON (a turn array, a platform's object), else the `Speaker: text` string itself. */
function readTranscript(text: string): { value: unknown } | { error: ApiError } {
  const trimmed = text.trim();
  if (!/^[[{]/.test(trimmed)) return { value: text };
  try {
    return { value: JSON.parse(trimmed) as unknown };
  } catch (error) {
    return { error: new ApiError(0, "invalid_json", `The transcript looks like JSON but does not parse: ${(error as Error).message}`, [{ path: "transcript", message: "fix the JSON, or paste `Speaker: text` lines" }]) };
  }
}

function requestBody(state: Draft, transcript: unknown) {
  const call = {
    ...(state.callTime ? { created_at: new Date(state.callTime).toISOString() } : {}),
    ...(state.timezone.trim() ? { timezone: state.timezone.trim() } : {}),
  };
  const context = {
    ...(state.systemPrompt.trim() ? { system_prompt: state.systemPrompt.trim() } : {}),
    ...(Object.keys(call).length > 0 ? { call } : {}),
  };
  return {
    transcript,
    variables: variablesFromRows(state.rows),
    ...(Object.keys(context).length > 0 ? { context } : {}),
    options: { evidence: true, cache: state.cache, ...(state.model.trim() ? { model: state.model.trim() } : {}) },
  };
}

/** A profile's variables as the table's rows, and its time zone for relative dates: close to what the profile would ask. */
function fromProfile(profile: Profile, state: Draft): Draft {
  return {
    ...state,
    // The API says `options: null` for none; every other key (fields, items, format, pattern, examples) as the file gives it.
    rows: rowsFromVariables(profile.variables.map(({ options, ...variable }) => (options ? { ...variable, options } : variable))),
    timezone: profile.timezone ?? state.timezone,
  };
}

/** Another platform's definition pasted in, converted by /v1/variables/convert into the table (no LLM call). */
function ImportDefinition({ onImport }: { onImport: (rows: VariableRow[], notes: string[]) => void }) {
  const [from, setFrom] = useState("retell");
  const [text, setText] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const convert = async () => {
    setError(undefined);
    let definition: unknown;
    try {
      definition = JSON.parse(text);
    } catch (thrown) {
      setError(`Not valid JSON: ${(thrown as Error).message}`);
      return;
    }
    try {
      const answer = await api.post<{ variables: Record<string, unknown>[]; notes: string[] }>("/v1/variables/convert", { from, definition });
      onImport(rowsFromVariables(answer.variables), answer.notes);
    } catch (thrown) {
      setError((thrown as Error).message);
    }
  };
  return (
    <details class="import-definition">
      <summary>Import another platform's definition</summary>
      <label class="check">
        From{" "}
        <select value={from} onChange={(event) => setFrom(event.currentTarget.value)}>
          {["retell", "vapi", "elevenlabs", "json_schema"].map((source) => (
            <option key={source} value={source}>
              {source}
            </option>
          ))}
        </select>
      </label>
      <textarea aria-label="The definition, as JSON" rows={6} value={text} onInput={(event) => setText(event.currentTarget.value)} />
      <button type="button" class="secondary" onClick={() => void convert()}>
        Convert into the table
      </button>
      {error ? <p class="warn">{error}</p> : null}
    </details>
  );
}

/** Loads a configured profile's variables into the table; absent on a service without a pipeline (the playground works without one). */
function LoadProfile({ onLoad }: { onLoad: (profile: Profile) => void }) {
  const profiles = useApi<{ profiles: Profile[] }>("/v1/profiles").data?.profiles ?? [];
  const [name, setName] = useState("");
  if (profiles.length === 0) return null;
  const chosen = profiles.find((profile) => profile.name === name) ?? profiles[0]!;
  return (
    <div class="load-profile">
      <label class="check">
        Profile{" "}
        <select value={chosen.name} onChange={(event) => setName(event.currentTarget.value)}>
          {profiles.map((profile) => (
            <option key={profile.name} value={profile.name}>
              {profile.name}
            </option>
          ))}
        </select>
      </label>{" "}
      <button type="button" class="secondary" onClick={() => onLoad(chosen)}>
        Load its variables
      </button>
    </div>
  );
}

export function PlaygroundPage() {
  const [state, setState] = useState<Draft>(draft);
  const [result, setResult] = useState<{ answer: ExtractResult; transcript: unknown } | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [running, setRunning] = useState(false);
  const [sentRows, setSentRows] = useState<VariableRow[] | undefined>(undefined);

  const update = (change: Partial<Draft>) => {
    draft = { ...state, ...change };
    setState(draft);
  };
  const [importNotes, setImportNotes] = useState<string[]>([]);

  const parsed = useMemo(() => readTranscript(state.transcript), [state.transcript]);
  const body = "value" in parsed ? requestBody(state, parsed.value) : undefined;
  // The turns exactly as the service reads them (its own normaliser), so evidence turn numbers line up.
  const turns = useMemo(() => {
    if (!result) return [];
    const normalized = normalizeTranscript(result.transcript);
    return normalized.ok ? normalized.turns : [];
  }, [result]);

  const run = async (event: Event) => {
    event.preventDefault();
    if ("error" in parsed) {
      setError(parsed.error);
      return;
    }
    setRunning(true);
    setError(undefined);
    setSentRows(state.rows);
    try {
      const answer = await api.post<ExtractResult>("/v1/extract", body);
      setResult({ answer, transcript: parsed.value });
    } catch (failure) {
      setError(failure as ApiError);
      setResult(undefined);
    } finally {
      setRunning(false);
    }
  };

  const meta = result?.answer.meta;
  // The 400's details at the rows they name, while those rows stand as they were sent (the error box keeps them all).
  const problems = useMemo(() => {
    if (!error || !sentRows) return {};
    const named = Object.entries(problemsByRow(sentRows, error.details));
    return Object.fromEntries(named.filter(([key]) => rowAt(state.rows, key) === rowAt(sentRows, key)));
  }, [error, sentRows, state.rows]);
  const types = Object.fromEntries(variablesFromRows(state.rows).map((variable) => [variable.name, variable.type]));

  return (
    <section class="playground">
      <h1>Playground</h1>
      <p class="lead">
        Try a transcript and a set of variables on <code>POST /v1/extract</code>, with evidence. Nothing is stored.
      </p>
      <form onSubmit={run}>
        <label for="transcript">Transcript</label>
        <p class="hint" id="transcript-hint">
          <code>Speaker: text</code> lines, or a JSON array of turns in any platform's shape (Vapi, Retell, ElevenLabs, Bland, Thoughtly,
          Autocalls, <code>{"{role, content}"}</code>).
        </p>
        <textarea
          id="transcript"
          rows={9}
          spellcheck={false}
          aria-describedby="transcript-hint"
          value={state.transcript}
          onInput={(event) => update({ transcript: (event.currentTarget as HTMLTextAreaElement).value })}
        />

        <fieldset>
          <legend>Variables</legend>
          <LoadProfile onLoad={(profile) => update(fromProfile(profile, state))} />
          <ImportDefinition
            onImport={(rows, notes) => {
              update({ rows });
              setImportNotes(notes);
            }}
          />
          {importNotes.length > 0 ? (
            <ul class="import-notes" aria-label="What did not carry over">
              {importNotes.map((note) => (
                <li key={note}>{note}</li>
              ))}
            </ul>
          ) : null}
          <VariableTable rows={state.rows} onChange={(rows) => update({ rows })} problems={problems} />
          <button type="button" class="secondary" onClick={() => update({ rows: [...state.rows, emptyRow()] })}>
            Add a variable
          </button>
          <p class="hint">
            <code>status</code> and <code>summary</code> are always extracted unless you define them.
          </p>
        </fieldset>

        <details>
          <summary>Context and options</summary>
          <div class="grid">
            <label>
              The agent's prompt (what the call was for)
              <textarea rows={3} value={state.systemPrompt} onInput={(event) => update({ systemPrompt: (event.currentTarget as HTMLTextAreaElement).value })} />
            </label>
            <label>
              When the call took place (for relative dates)
              <input type="datetime-local" value={state.callTime} onInput={(event) => update({ callTime: (event.currentTarget as HTMLInputElement).value })} />
            </label>
            <label>
              Time zone
              <input value={state.timezone} placeholder="America/New_York" onInput={(event) => update({ timezone: (event.currentTarget as HTMLInputElement).value })} />
            </label>
            <label>
              Model (empty: the service's default)
              <input value={state.model} onInput={(event) => update({ model: (event.currentTarget as HTMLInputElement).value })} />
            </label>
            <label class="check">
              <input type="checkbox" checked={state.cache} onChange={(event) => update({ cache: (event.currentTarget as HTMLInputElement).checked })} />
              Answer from the result cache when the same request was run before
            </label>
          </div>
        </details>

        <button type="submit" disabled={running}>
          {running ? "Extracting…" : "Run extraction"}
        </button>
      </form>

      {error ? <ErrorBox error={error} title="The extraction did not run." /> : null}

      {result && meta ? (
        <section aria-labelledby="result-heading" class="result">
          <h2 id="result-heading">Result</h2>
          <p class="facts">
            <span>model {meta.model}</span>
            <span>{meta.cached ? "from the cache" : `${meta.latency_ms} ms`}</span>
            {meta.ungrounded ? <span class="warn">{meta.ungrounded} quote(s) not in the transcript were dropped</span> : null}
            <span>
              {result.answer.review.needed
                ? `review: ${Object.keys(result.answer.review.fields).length} value(s) flagged`
                : "review: nothing flagged"}
            </span>
            {result.answer.confidence ? null : <span>no confidence (the LLM gave no token log-probabilities)</span>}
          </p>
          <ExtractionView
            turns={turns}
            values={result.answer.extracted_variables}
            evidence={result.answer.evidence}
            types={types}
            flags={result.answer.review.fields}
            confidence={result.answer.confidence}
          />
        </section>
      ) : null}

      <section aria-labelledby="export-heading" class="export">
        <h2 id="export-heading">Take it with you</h2>
        {body ? (
          <CopyBlock
            label="The request as curl"
            text={curlCommand(location.origin, body, { auth: storedApiKey() !== undefined })}
            hint={storedApiKey() ? "Reads the key from $DEBRIEF_API_KEY: set it in your shell first." : undefined}
          />
        ) : null}
        <CopyBlock label="The variables as a profile (YAML)" text={profileYaml(variablesFromRows(state.rows))} hint="Paste under a profile in your DEBRIEF_CONFIG file." />
      </section>
    </section>
  );
}
