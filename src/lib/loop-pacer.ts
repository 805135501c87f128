// Background work (extracting accepted calls, sending deliveries) takes one step per event-loop turn, so HTTP requests
// arriving meanwhile are served between its steps instead of waiting behind all of them.

/**
 * A queue of background steps, released one per turn of the event loop: each `next()` resolves in its own check phase
 * (setImmediate), and the next one only in a later turn, after the poll phase has read whatever requests arrived.
 * When the loop is otherwise idle a turn takes microseconds, so background throughput barely changes.
 */
export class LoopPacer {
  readonly #waiting: (() => void)[] = [];
  #scheduled = false;

  /** Resolves when it is this step's turn. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#schedule();
    });
  }

  /** Steps waiting for their turn (for tests and metrics). */
  get waiting(): number {
    return this.#waiting.length;
  }

  #schedule(): void {
    if (this.#scheduled || this.#waiting.length === 0) return;
    this.#scheduled = true;
    // An immediate queued from inside an immediate runs on the next turn: one step per turn.
    setImmediate(() => {
      this.#scheduled = false;
      this.#waiting.shift()?.();
      this.#schedule();
    });
  }
}

/** For code run without a pipeline's turns (unit tests, tools): every step goes at once. */
export const noPacing: Pick<LoopPacer, "next"> = { next: () => Promise.resolve() };
