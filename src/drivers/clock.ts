import type { Millis } from "../ike/api.js";

/**
 * Time for the daemon: a monotonic clock and the ONE timer (design.md: the core keeps a table of
 * named deadlines; the driver owns one timer re-armed at the earliest of them).
 *
 * The clock is monotonic (process.hrtime), so a wall-clock step (NTP, a suspended VM resuming)
 * never fires or delays every IKE timer at once.
 */

export interface Clock {
  /** Milliseconds since an arbitrary fixed origin; never decreases. */
  now(): Millis;
}

const origin = process.hrtime.bigint();

/** The process's monotonic clock, in (fractional) milliseconds since the module was loaded. */
export const monotonicClock: Clock = {
  now(): Millis {
    return Number(process.hrtime.bigint() - origin) / 1e6;
  },
};

/**
 * One timer that calls `onFire(now)` when the earliest armed deadline is reached.
 *
 * `arm(deadline)` replaces the previous deadline (the caller recomputes the minimum of every
 * deadline source after each call into the core). `undefined` disarms. A deadline in the past fires
 * on the next turn of the event loop, never synchronously inside `arm` (the caller is usually in
 * the middle of handling output).
 */
export class DeadlineTimer {
  readonly #clock: Clock;
  readonly #onFire: (now: Millis) => void;
  #timer: NodeJS.Timeout | undefined;
  #deadline: Millis | undefined;
  #closed = false;

  constructor(clock: Clock, onFire: (now: Millis) => void) {
    this.#clock = clock;
    this.#onFire = onFire;
  }

  /** The armed deadline, or undefined. */
  get deadline(): Millis | undefined {
    return this.#deadline;
  }

  /** Arms the timer at the earliest of `deadlines` (undefined entries ignored); none: disarm. */
  arm(...deadlines: Array<Millis | undefined>): void {
    if (this.#closed) return;
    let earliest: Millis | undefined;
    for (const d of deadlines) {
      if (d !== undefined && Number.isFinite(d) && (earliest === undefined || d < earliest)) earliest = d;
    }
    if (earliest === this.#deadline && this.#timer !== undefined) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#deadline = earliest;
    if (earliest === undefined) return;
    // +1 ms: setTimeout may fire a fraction early relative to hrtime; firing before the deadline
    // would make the core find nothing due and the timer spin.
    const delay = Math.max(0, Math.ceil(earliest - this.#clock.now()) + 1);
    // setTimeout's maximum is 2^31-1 ms; longer deadlines are re-armed when the short timer fires.
    this.#timer = setTimeout(this.#fire, Math.min(delay, 0x7fffffff));
  }

  #fire = (): void => {
    this.#timer = undefined;
    const deadline = this.#deadline;
    this.#deadline = undefined;
    if (deadline === undefined || this.#closed) return;
    const now = this.#clock.now();
    if (now < deadline) {
      this.arm(deadline);
      return;
    }
    this.#onFire(now);
  };

  /** Disarms for good. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#deadline = undefined;
  }
}
