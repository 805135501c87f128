// Text to take away: shown in full (selectable by hand where the clipboard is not available) with a Copy button.
import { useState } from "preact/hooks";

export function CopyBlock({ label, text, hint }: { label: string; text: string; hint?: string | undefined }) {
  const [copied, setCopied] = useState<"yes" | "no" | undefined>(undefined);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied("yes");
    } catch {
      // No clipboard outside a secure context (plain http to another host): the text is on screen to select.
      setCopied("no");
    }
  };
  return (
    <div class="copy-block">
      <div class="copy-head">
        <h3>{label}</h3>
        <button type="button" class="secondary" onClick={copy} aria-label={`Copy ${label.toLowerCase()}`}>
          Copy
        </button>
        <span role="status" class="muted">
          {copied === "yes" ? "Copied." : copied === "no" ? "The browser refused the clipboard: select the text below." : ""}
        </span>
      </div>
      {hint ? <p class="hint">{hint}</p> : null}
      <pre tabIndex={0}>{text}</pre>
    </div>
  );
}
