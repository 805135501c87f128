// Progress of a run on stderr: a live bar on a terminal, one plain line per call otherwise (CI logs, pipes).
// With several models, every (model, call) is one step, and each line names its model.
import { Presets, SingleBar } from "cli-progress";
import type { ItemRun } from "./run-items.js";

export interface Progress {
  itemDone(run: ItemRun): void;
  stop(): void;
}

function outcome(run: ItemRun): string {
  if (run.error) return `FAILED ${run.error.code}`;
  return `ok ${run.result!.meta.latency_ms} ms`;
}

export function createProgress(total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    const bar = new SingleBar(
      { stream, format: "{bar} {value}/{total} calls | {failed} failed | eta {eta_formatted} | {last}", hideCursor: true, clearOnComplete: false },
      Presets.shades_classic,
    );
    let failed = 0;
    bar.start(total, 0, { failed, last: "" });
    return {
      itemDone(run) {
        if (run.error) failed += 1;
        bar.increment({ failed, last: `${run.model} ${run.item.id} ${outcome(run)}` });
      },
      stop: () => bar.stop(),
    };
  }
  let done = 0;
  const width = String(total).length;
  return {
    itemDone(run) {
      done += 1;
      stream.write(`[${String(done).padStart(width)}/${total}] ${run.model} ${run.item.id} ${outcome(run)}\n`);
    },
    stop() {},
  };
}
