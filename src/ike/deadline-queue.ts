/**
 * The earliest deadline over many owners (IKE SAs), without scanning every owner each time it is
 * asked (design.md style rule 7: one timer for the whole engine). The daemon asks after every
 * datagram, so a scan made each datagram O(number of SAs): 3-7% of the responder's CPU at 1,000-
 * 2,000 SAs (docs/performance.md).
 *
 * A min-heap of (deadline, owner) entries, checked lazily against `deadlineOf(owner)`, the
 * owner's true earliest deadline (undefined when it has none or is gone). The one invariant:
 * every owner with a deadline D has an entry at or before D. It holds because an owner whose
 * deadline may have moved earlier is `touch`ed (a timer armed, a Child SA added or made
 * rekeyable) and re-offered on the next `next()`; a deadline that moves later needs nothing.
 * Then an entry on top that still matches its owner's deadline is the earliest of all; one that
 * does not is stale and is replaced by the owner's current deadline.
 *
 * Times are milliseconds on the caller's clock.
 */
import type { Millis } from "./api.js";

interface Entry<K> {
  at: Millis;
  key: K;
}

export class DeadlineQueue<K> {
  readonly #deadlineOf: (key: K) => Millis | undefined;
  readonly #owners: () => number;
  readonly #heap: Entry<K>[] = [];
  /** Owners whose deadline may have moved earlier since the last `next()`. */
  readonly #dirty = new Set<K>();
  /** Per owner, the deadline of its latest entry (that entry is still in the heap). */
  readonly #queued = new Map<K, Millis>();

  /**
   * `deadlineOf(key)`: the owner's earliest deadline now, undefined when none (or the owner is
   * gone). `owners()`: how many owners exist now (bounds the entries kept for gone ones).
   */
  constructor(deadlineOf: (key: K) => Millis | undefined, owners: () => number) {
    this.#deadlineOf = deadlineOf;
    this.#owners = owners;
  }

  /** Heap entries held, stale ones included: at most 64 + 2 × owners() after `next()`. */
  get entries(): number {
    return this.#heap.length;
  }

  /** The owner's deadline may have moved earlier (or it is new). O(1). */
  touch(key: K): void {
    this.#dirty.add(key);
  }

  /** The earliest deadline over all owners, or undefined. Amortized O(touched · log n). */
  next(): Millis | undefined {
    for (const key of this.#dirty) this.#offer(key, this.#deadlineOf(key));
    this.#dirty.clear();
    // Entries of owners that are gone or moved later wait until they surface (an IKE SA closed
    // long before its rekey time); rebuild once they outnumber the owners, so gone owners are
    // not held. Amortized O(1) per entry.
    if (this.#heap.length > 64 + 2 * this.#owners()) this.#rebuild();
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined) return undefined;
      const at = this.#deadlineOf(top.key);
      if (at === top.at) return at;
      this.#pop();
      if (this.#queued.get(top.key) === top.at) this.#queued.delete(top.key);
      this.#offer(top.key, at);
    }
  }

  /** Rebuilds from the owners' current deadlines, dropping gone ones. */
  #rebuild(): void {
    const keys = [...this.#queued.keys()];
    this.#heap.length = 0;
    this.#queued.clear();
    for (const key of keys) this.#offer(key, this.#deadlineOf(key));
  }

  #offer(key: K, at: Millis | undefined): void {
    if (at === undefined || this.#queued.get(key) === at) return;
    this.#queued.set(key, at);
    this.#push({ at, key });
  }

  #push(e: Entry<K>): void {
    const h = this.#heap;
    let i = h.push(e) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as Entry<K>;
      if (parent.at <= e.at) break;
      h[i] = parent;
      i = p;
    }
    h[i] = e;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && (h[r] as Entry<K>).at < (h[l] as Entry<K>).at ? r : l;
      const child = h[c] as Entry<K>;
      if (child.at >= last.at) break;
      h[i] = child;
      i = c;
    }
    h[i] = last;
  }
}
