// A moment as "3 min ago", with the exact local time on hover and for screen readers' details.
import { localTime, relativeTime } from "../format.js";

export function When({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span class="muted">–</span>;
  return (
    <time dateTime={iso} title={localTime(iso)}>
      {relativeTime(iso)}
    </time>
  );
}
