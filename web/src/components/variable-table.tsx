// The playground's variables as a table: one row a variable (name, type, options, description), under it the controls
// its type takes (a string's format and pattern, a list's items, examples), and an object's fields (or a list of
// objects' item fields) as a nested table of the same rows, down to the service's 3 levels of objects.
import { useId } from "preact/hooks";
import {
  emptyRow,
  examplesFromText,
  LIST_OF_OPTIONS,
  LIST_OF_STRINGS,
  listKind,
  MAX_EXAMPLES,
  MAX_OBJECT_DEPTH,
  STRING_FORMATS,
  takesOptions,
  type ItemRow,
  type RowProblem,
  type VariableRow,
} from "../playground-export.js";
import { VARIABLE_TYPES } from "../vocabulary.js";

interface Props {
  rows: VariableRow[];
  onChange: (rows: VariableRow[]) => void;
  /** The API's messages by row key (`0`, `0.fields.1`, `0.items.fields.2`): see problemsByRow. */
  problems: Record<string, RowProblem[]>;
}

/** What a list can hold: its `of` values and how the table says them. `enum` items are offered only to a list that has them. */
const LIST_KINDS: readonly (readonly [string, string])[] = [
  [LIST_OF_STRINGS, "strings"],
  [LIST_OF_OPTIONS, "one of the options"],
  ["string", "strings with a format or pattern"],
  ["number", "numbers"],
  ["integer", "whole numbers"],
  ["boolean", "true or false"],
  ["date", "dates"],
  ["datetime", "date-times"],
  ["enum", "one of the item's options"],
  ["object", "objects (fields below)"],
];

/** Every control's accessible name. The top level keeps the table's first names ("Type of variable 2"); fields are named by their path ("order.line_items[].quantity type"). */
function namesFor(parent: string | undefined, index: number, row: VariableRow) {
  const n = index + 1;
  if (parent === undefined) {
    const of = `of variable ${n}`;
    return {
      path: row.name.trim() || `variable ${n}`,
      name: `Name ${of}`,
      type: `Type ${of}`,
      options: `Options ${of}, separated by commas`,
      description: `Description ${of}`,
      remove: `Remove variable ${n}${row.name ? ` (${row.name})` : ""}`,
      format: `Format ${of}`,
      pattern: `Pattern ${of}`,
      examples: `Examples ${of}, one per line`,
      items: `Items ${of}`,
      itemFormat: `Format of each item ${of}`,
      itemPattern: `Pattern of each item ${of}`,
      itemOptions: `Options of each item ${of}, separated by commas`,
    };
  }
  const path = `${parent}.${row.name.trim() || `field ${n}`}`;
  return {
    path,
    name: `Name of field ${n} of ${parent}`,
    type: `${path} type`,
    options: `${path} options, separated by commas`,
    description: `${path} description`,
    remove: `Remove field ${path}`,
    format: `${path} format`,
    pattern: `${path} pattern`,
    examples: `${path} examples, one per line`,
    items: `${path} items`,
    itemFormat: `${path}[] format`,
    itemPattern: `${path}[] pattern`,
    itemOptions: `${path}[] options, separated by commas`,
  };
}

/** The keys of a row a control edits: a problem naming one marks that control. */
const CONTROLS = new Set(["name", "type", "options", "description", "format", "pattern", "examples", "items"]);

/** `aria-invalid` and `aria-describedby` for a control a problem names; nothing for the others. */
type Marks = { "aria-invalid"?: "true"; "aria-describedby"?: string };

const value = (event: Event) => (event.currentTarget as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement).value;

/** A string's format: none or one the service checks (a format it does not, kept from a definition, stays listed). */
function FormatSelect({ label, format, onChange, marks }: { label: string; format: string | undefined; onChange: (format: string) => void; marks?: Marks }) {
  const id = useId();
  const formats: readonly string[] = STRING_FORMATS;
  return (
    <div>
      <label for={id}>Format</label>
      <select id={id} aria-label={label} {...marks} value={format ?? ""} onChange={(event) => onChange(value(event))}>
        <option value="">none</option>
        {[...formats, ...(format && !formats.includes(format) ? [format] : [])].map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
    </div>
  );
}

function PatternInput({ label, pattern, onChange, marks }: { label: string; pattern: string | undefined; onChange: (pattern: string) => void; marks?: Marks }) {
  const id = useId();
  return (
    <div>
      <label for={id}>Pattern (RE2)</label>
      <input id={id} aria-label={label} {...marks} value={pattern ?? ""} spellcheck={false} onInput={(event) => onChange(value(event))} />
    </div>
  );
}

/** Examples shown to the model: one a line; more than the service takes is said here, and refused by the API with its path. */
function ExamplesInput({ label, row, onChange, marks }: { label: string; row: VariableRow; onChange: (examples: string) => void; marks: Marks }) {
  const id = useId();
  const text = row.examples ?? "";
  const count = examplesFromText(text, row.type)?.length ?? 0;
  return (
    <div>
      <label for={id}>Examples (one per line, at most {MAX_EXAMPLES})</label>
      <textarea id={id} aria-label={label} {...marks} rows={Math.min(Math.max(text.split("\n").length, 1), MAX_EXAMPLES + 1)} value={text} onInput={(event) => onChange(value(event))} />
      {count > MAX_EXAMPLES ? (
        <span class="warn small">
          {count} examples: the service takes at most {MAX_EXAMPLES}
        </span>
      ) : null}
    </div>
  );
}

/** A list's items: what each is, and the rules of that shape (its format and pattern, its own options). */
interface ItemProps {
  row: VariableRow;
  names: ReturnType<typeof namesFor>;
  depth: number;
  onChange: (change: Partial<VariableRow>) => void;
  marks: Marks;
}

function ItemControls({ row, names, depth, onChange, marks }: ItemProps) {
  const id = useId();
  const kind = listKind(row);
  const items: ItemRow = row.items ?? { options: "" };
  const setItems = (change: Partial<ItemRow>) => onChange({ items: { ...items, ...change } });
  const kinds = LIST_KINDS.filter(([of]) => of === kind || (of !== "enum" && (of !== "object" || depth + 1 <= MAX_OBJECT_DEPTH)));
  return (
    <>
      <div>
        <label for={id}>Each item is</label>
        <select
          id={id}
          aria-label={names.items}
          {...marks}
          value={kind}
          onChange={(event) => {
            const of = value(event);
            onChange({ of, items: of === "object" && !items.fields ? { ...items, fields: [emptyRow()] } : items });
          }}
        >
          {kinds.map(([of, said]) => (
            <option key={of} value={of}>
              {said}
            </option>
          ))}
        </select>
      </div>
      {kind === "string" ? (
        <>
          <FormatSelect label={names.itemFormat} format={items.format} onChange={(format) => setItems({ format })} />
          <PatternInput label={names.itemPattern} pattern={items.pattern} onChange={(pattern) => setItems({ pattern })} />
        </>
      ) : null}
      {kind === "enum" ? (
        <div>
          <label for={`${id}-options`}>The item's options</label>
          <input id={`${id}-options`} aria-label={names.itemOptions} value={items.options} placeholder="a, b, c" onInput={(event) => setItems({ options: value(event) })} />
        </div>
      ) : null}
    </>
  );
}

interface RowProps {
  row: VariableRow;
  index: number;
  /** The path of the object these rows are fields of; undefined at the top level. */
  parent: string | undefined;
  /** Objects enclosing this row (0 at the top level). */
  depth: number;
  /** The row's key in `problems`. */
  rowKey: string;
  problems: Record<string, RowProblem[]>;
  onChange: (change: Partial<VariableRow>) => void;
  onRemove: () => void;
}

function VariableRowView({ row, index, parent, depth, rowKey, problems, onChange, onRemove }: RowProps) {
  const names = namesFor(parent, index, row);
  const ownProblems = problems[rowKey] ?? [];
  const problemId = `variable-problems-${rowKey}`;
  // The control a problem names is marked (a row's problem about no control of its own, such as its fields, marks its name).
  const marked = (control: string) => {
    const named = ownProblems.some((problem) => problem.key === control || (control === "name" && !CONTROLS.has(problem.key ?? "")));
    return named ? ({ "aria-invalid": "true", "aria-describedby": problemId } satisfies Marks) : {};
  };
  const types = VARIABLE_TYPES.filter((type) => type === row.type || type !== "object" || depth + 1 <= MAX_OBJECT_DEPTH);
  const optionsOn = takesOptions(row);
  const objectItems = row.type === "list" && listKind(row) === "object";
  return (
    <tbody class="variable">
      <tr>
        <td>
          <input
            aria-label={names.name}
            value={row.name}
            pattern="[a-z][a-z0-9_]{1,63}"
            title="Lower case letters, digits and _, starting with a letter"
            {...marked("name")}
            onInput={(event) => onChange({ name: value(event) })}
          />
        </td>
        <td>
          <select
            aria-label={names.type}
            {...marked("type")}
            value={row.type}
            onChange={(event) => {
              const type = value(event);
              onChange({ type, ...(type === "object" && !row.fields ? { fields: [emptyRow()] } : {}) });
            }}
          >
            {types.map((type) => (
              <option key={type} value={type}>
                {type}
              </option>
            ))}
          </select>
        </td>
        <td>
          <input
            aria-label={names.options}
            {...marked("options")}
            value={row.options}
            disabled={!optionsOn}
            placeholder={row.type === "object" ? "fields below" : row.type === "list" && !optionsOn ? "items below" : optionsOn ? "a, b, c" : ""}
            onInput={(event) => onChange({ options: value(event), ...(row.type === "list" && listKind(row) === LIST_OF_STRINGS ? { of: LIST_OF_OPTIONS } : {}) })}
          />
        </td>
        <td>
          <input aria-label={names.description} {...marked("description")} value={row.description} onInput={(event) => onChange({ description: value(event) })} />
        </td>
        <td>
          <button type="button" class="secondary" aria-label={names.remove} onClick={onRemove}>
            Remove
          </button>
        </td>
      </tr>
      <tr class="variable-more">
        <td colSpan={5}>
          <div class="grid">
            {row.type === "string" ? (
              <>
                <FormatSelect label={names.format} format={row.format} onChange={(format) => onChange({ format })} marks={marked("format")} />
                <PatternInput label={names.pattern} pattern={row.pattern} onChange={(pattern) => onChange({ pattern })} marks={marked("pattern")} />
              </>
            ) : null}
            {row.type === "list" ? <ItemControls row={row} names={names} depth={depth} onChange={onChange} marks={marked("items")} /> : null}
            <ExamplesInput label={names.examples} row={row} onChange={(examples) => onChange({ examples })} marks={marked("examples")} />
          </div>
          {ownProblems.length > 0 ? (
            <ul id={problemId} class="failure small" aria-label={`What the service said about ${names.path}`}>
              {ownProblems.map((problem) => (
                <li key={`${problem.path} ${problem.message}`}>
                  <code>{problem.path}</code> {problem.message}
                </li>
              ))}
            </ul>
          ) : null}
          {row.type === "object" ? (
            <FieldsTable
              rows={row.fields ?? []}
              parent={names.path}
              depth={depth + 1}
              keyPrefix={`${rowKey}.fields.`}
              problems={problems}
              onChange={(fields) => onChange({ fields })}
            />
          ) : null}
          {objectItems ? (
            <FieldsTable
              rows={row.items?.fields ?? []}
              parent={`${names.path}[]`}
              depth={depth + 1}
              keyPrefix={`${rowKey}.items.fields.`}
              problems={problems}
              onChange={(fields) => onChange({ items: { ...(row.items ?? { options: "" }), fields } })}
            />
          ) : null}
        </td>
      </tr>
    </tbody>
  );
}

interface TableProps extends Props {
  parent: string | undefined;
  depth: number;
  keyPrefix: string;
}

function RowsTable({ rows, onChange, problems, parent, depth, keyPrefix }: TableProps) {
  const change = (index: number, change: Partial<VariableRow>) => onChange(rows.map((row, i) => (i === index ? { ...row, ...change } : row)));
  return (
    <table class={parent === undefined ? "variables" : "variables nested"} aria-label={parent === undefined ? "Variables" : `Fields of ${parent}`}>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Type</th>
          <th scope="col">Options (enum, list)</th>
          <th scope="col">Description</th>
          <th scope="col">
            <span class="visually-hidden">Remove</span>
          </th>
        </tr>
      </thead>
      {rows.map((row, index) => (
        <VariableRowView
          key={index}
          row={row}
          index={index}
          parent={parent}
          depth={depth}
          rowKey={`${keyPrefix}${index}`}
          problems={problems}
          onChange={(changed) => change(index, changed)}
          onRemove={() => onChange(rows.filter((_, i) => i !== index))}
        />
      ))}
    </table>
  );
}

/** An object's fields (or each item's, for a list of objects): a nested table, with a button to add one. */
function FieldsTable(props: TableProps & { parent: string }) {
  const { rows, onChange, parent } = props;
  return (
    <fieldset class="variable-fields">
      <legend>
        Fields of <code>{parent}</code>
      </legend>
      {props.depth >= MAX_OBJECT_DEPTH ? <p class="hint">Objects nest {MAX_OBJECT_DEPTH} levels deep at most: these fields cannot be objects.</p> : null}
      <RowsTable {...props} />
      <button type="button" class="secondary" aria-label={`Add a field to ${parent}`} onClick={() => onChange([...rows, emptyRow()])}>
        Add a field
      </button>
    </fieldset>
  );
}

/** The variables table: a row per variable, nested tables for fields. */
export function VariableTable({ rows, onChange, problems }: Props) {
  return <RowsTable rows={rows} onChange={onChange} problems={problems} parent={undefined} depth={0} keyPrefix="" />;
}
