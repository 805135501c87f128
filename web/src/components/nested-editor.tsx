// Edits one nested value in the review form: an object's fields, a list's items (added and removed), each leaf an input
// named by its path (`items[1].quantity`) with its flags and, when it is not a value of its type, why.
import type { JSX } from "preact";
import { emptyDraft, formatPath, editsPerPart, setAt, type Draft, type ValueShape } from "../review-draft.js";
import { ValueJudgement } from "./extraction-view.js";

export interface LeafNotes {
  /** Why each path's value is refused (`values.items[1].quantity` → message): the browser's check or the API's. */
  problems: Record<string, string>;
  /** The flags the profile counts, by path. */
  flags: Record<string, string[]>;
  confidence: Record<string, number> | undefined;
}

interface Props {
  shape: ValueShape;
  path: (string | number)[];
  draft: Draft;
  onChange: (next: Draft) => void;
  notes: LeafNotes;
}

const inputId = (path: string) => `review-${path}`;

/** The input for one leaf: a choice for an enum or a boolean, text otherwise. */
export function LeafInput({ shape, path, text, onInput, notes }: { shape: ValueShape; path: string; text: string; onInput: (text: string) => void; notes: LeafNotes }) {
  const problem = notes.problems[`values.${path}`];
  const common = {
    id: inputId(path),
    name: path,
    "aria-invalid": problem ? ("true" as const) : undefined,
    "aria-describedby": problem ? `${inputId(path)}-problem` : undefined,
  };
  const choices = shape.type === "enum" ? (shape.options ?? []) : shape.type === "boolean" ? ["true", "false"] : undefined;
  // A value the choices do not hold (the model's, not yet corrected) stays shown, so leaving it is not a change.
  const listed = choices && text !== "" && !choices.includes(text) ? [...choices, text] : choices;
  return (
    <>
      {listed ? (
        <select {...common} value={text} onChange={(event) => onInput((event.currentTarget as HTMLSelectElement).value)}>
          <option value="">(not said)</option>
          {listed.map((choice) => (
            <option key={choice} value={choice}>
              {choice}
            </option>
          ))}
        </select>
      ) : (
        <input {...common} value={text} onInput={(event) => onInput((event.currentTarget as HTMLInputElement).value)} />
      )}
      {problem ? (
        <span id={`${inputId(path)}-problem`} class="small field-problem">
          {problem}
        </span>
      ) : null}
    </>
  );
}

function Leaf({ shape, path, draft, onChange, notes }: Props) {
  const at = formatPath(path);
  return (
    <div class={notes.flags[at] ? "review-field flagged" : "review-field"}>
      {/* The input is named by its path alone; its flags and confidence sit beside the label. */}
      <div>
        <label for={inputId(at)}>
          <code>{at}</code>
        </label>
        <ValueJudgement flags={notes.flags[at]} confidence={notes.confidence?.[at]} />
      </div>
      <LeafInput shape={shape} path={at} text={typeof draft === "string" ? draft : ""} onInput={onChange} notes={notes} />
    </div>
  );
}

/** An object's fields, or a list's items with "Add item" and "Remove item"; a scalar leaf otherwise. */
export function NestedEditor(props: Props): JSX.Element {
  const { shape, path, draft, onChange, notes } = props;
  if (!editsPerPart(shape)) return <Leaf {...props} />;
  const at = formatPath(path);
  if (shape.type === "object") {
    const fields = draft !== null && typeof draft === "object" && !Array.isArray(draft) ? draft : {};
    return (
      <fieldset class="nested">
        <legend>
          <code>{at}</code>
        </legend>
        {(shape.fields ?? []).map((field) => (
          <NestedEditor
            key={field.name}
            shape={field}
            path={[...path, field.name]}
            draft={fields[field.name] ?? emptyDraft(field)}
            onChange={(next) => onChange(setAt(draft, [field.name], next))}
            notes={notes}
          />
        ))}
      </fieldset>
    );
  }
  const items = Array.isArray(draft) ? draft : [];
  const itemShape = shape.items!;
  return (
    <fieldset class="nested">
      <legend>
        <code>{at}</code> <span class="muted small">{items.length === 1 ? "1 item" : `${items.length} items`}</span>
      </legend>
      {items.map((item, index) => (
        <div key={index} class="nested-item">
          <div>
            <NestedEditor shape={itemShape} path={[...path, index]} draft={item} onChange={(next) => onChange(setAt(draft, [index], next))} notes={notes} />
          </div>
          <button type="button" class="secondary" aria-label={`Remove item ${formatPath([...path, index])}`} onClick={() => onChange(items.filter((_, kept) => kept !== index))}>
            Remove item
          </button>
        </div>
      ))}
      {items.length === 0 ? <p class="muted small">No items.</p> : null}
      <button type="button" class="secondary" aria-label={`Add item to ${at}`} onClick={() => onChange([...items, emptyDraft(itemShape)])}>
        Add item
      </button>
    </fieldset>
  );
}
