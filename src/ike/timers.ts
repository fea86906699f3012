/**
 * A table of named deadlines (design.md style rule 7). Each IKE SA owns one table; the engine asks
 * every table for its earliest deadline and fires what is due. A firing timer only says "look
 * again": the handler rechecks its precondition (is the SA still established? is the request
 * still outstanding?), so a stale entry does nothing harmful.
 *
 * Times are milliseconds on the caller's clock.
 */
import type { Millis } from "./api.js";

export class TimerTable<Name extends string> {
  readonly #deadlines = new Map<Name, Millis>();
  readonly #onArm: (() => void) | undefined;

  /** `onArm` is called after every `set` (the engine's DeadlineQueue re-reads this table then). */
  constructor(onArm?: () => void) {
    this.#onArm = onArm;
  }

  /** Arms (or re-arms) `name` to fire at `at`. */
  set(name: Name, at: Millis): void {
    this.#deadlines.set(name, at);
    this.#onArm?.();
  }

  /** Disarms `name`; harmless when it was not armed. */
  clear(name: Name): void {
    this.#deadlines.delete(name);
  }

  get(name: Name): Millis | undefined {
    return this.#deadlines.get(name);
  }

  has(name: Name): boolean {
    return this.#deadlines.has(name);
  }

  /** The earliest armed deadline, or undefined when nothing is armed. */
  next(): Millis | undefined {
    let best: Millis | undefined;
    for (const at of this.#deadlines.values()) if (best === undefined || at < best) best = at;
    return best;
  }

  /** Removes and returns the names due at `now`, earliest first. */
  takeDue(now: Millis): Name[] {
    const due = [...this.#deadlines.entries()].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1]);
    for (const [name] of due) this.#deadlines.delete(name);
    return due.map(([name]) => name);
  }

  clearAll(): void {
    this.#deadlines.clear();
  }
}
