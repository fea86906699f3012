import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { DeadlineQueue } from "../../src/ike/deadline-queue.js";

// RFC 7296 s2.1/s2.4 give the engine many timers per IKE SA (retransmission, DPD, lifetimes); the
// engine arms one timer at the earliest of them (design.md rule 7). DeadlineQueue keeps that
// earliest deadline; its contract: after `touch` for every owner whose deadline moved earlier or
// appeared, `next()` equals the minimum over all owners.
describe("DeadlineQueue: the earliest of many owners' deadlines (design.md rule 7)", () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant("set" as const), owner: fc.integer({ min: 0, max: 15 }), at: fc.integer({ min: 0, max: 1000 }) }),
    fc.record({ kind: fc.constant("clear" as const), owner: fc.integer({ min: 0, max: 15 }) }),
    fc.record({ kind: fc.constant("next" as const) }),
  );

  it("next() equals a scan of every owner after any sequence of changes", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const deadlines = new Map<number, number>();
        const q = new DeadlineQueue<number>((k) => deadlines.get(k), () => deadlines.size);
        const scan = (): number | undefined => (deadlines.size === 0 ? undefined : Math.min(...deadlines.values()));
        for (const o of ops) {
          if (o.kind === "set") {
            const before = deadlines.get(o.owner);
            deadlines.set(o.owner, o.at);
            // Only a move earlier (or a new deadline) is announced, as the engine's hooks do.
            if (before === undefined || o.at < before) q.touch(o.owner);
          } else if (o.kind === "clear") {
            deadlines.delete(o.owner);
          } else {
            expect(q.next()).toBe(scan());
          }
        }
        expect(q.next()).toBe(scan());
      }),
      { numRuns: 300 },
    );
  });

  it("stale entries of owners that are gone or moved later do not pile up", () => {
    // Owners come and go with far deadlines that never surface (IKE SAs set up and torn down
    // within their rekey time), and one owner's deadline keeps moving later (DPD re-armed).
    const live = new Map<number, number>();
    const q = new DeadlineQueue<number>((k) => live.get(k), () => live.size);
    for (let i = 1; i <= 50_000; i++) {
      live.set(i, 3_600_000 + i);
      q.touch(i);
      live.delete(i - 1);
      live.set(0, 10 + i);
      q.touch(0);
      expect(q.next()).toBe(10 + i);
      expect(q.entries).toBeLessThanOrEqual(64 + 2 * live.size);
    }
  });
});
