import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DeadlineTimer, monotonicClock, type Clock } from "../../src/drivers/clock.js";

/** The one timer of the daemon (design.md "re-arms its one timer at nextDeadline()"). */
describe("DeadlineTimer: one timer re-armed at the earliest deadline", () => {
  let now = 0;
  const clock: Clock = { now: () => now };
  beforeEach(() => {
    vi.useFakeTimers();
    now = 1000;
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const advance = (ms: number): void => {
    now += ms;
    vi.advanceTimersByTime(ms);
  };

  it("fires once at the earliest of several deadlines, with the clock's now", () => {
    const fired: number[] = [];
    const t = new DeadlineTimer(clock, (n) => fired.push(n));
    t.arm(1500, undefined, 1200, 3000);
    expect(t.deadline).toBe(1200);
    advance(150);
    expect(fired).toEqual([]);
    advance(100);
    expect(fired).toEqual([1250]);
    advance(5000);
    expect(fired).toEqual([1250]);
  });

  it("re-arming replaces the previous deadline; no deadline disarms", () => {
    const fired: number[] = [];
    const t = new DeadlineTimer(clock, (n) => fired.push(n));
    t.arm(1100);
    t.arm(2000);
    advance(500);
    expect(fired).toEqual([]);
    t.arm(undefined);
    advance(5000);
    expect(fired).toEqual([]);
  });

  it("a deadline already past fires on a later turn, never inside arm()", () => {
    const fired: number[] = [];
    const t = new DeadlineTimer(clock, (n) => fired.push(n));
    t.arm(500);
    expect(fired).toEqual([]);
    advance(1);
    expect(fired).toEqual([1001]);
  });

  it("a timer that fires before the deadline on the clock re-arms instead of firing early", () => {
    const fired: number[] = [];
    const t = new DeadlineTimer(clock, (n) => fired.push(n));
    t.arm(1100);
    vi.advanceTimersByTime(200); // the timer runs, but the clock has not moved
    expect(fired).toEqual([]);
    advance(100);
    expect(fired).toEqual([1100]);
  });

  it("close() disarms for good", () => {
    const fired: number[] = [];
    const t = new DeadlineTimer(clock, (n) => fired.push(n));
    t.arm(1100);
    t.close();
    t.arm(1200);
    advance(1000);
    expect(fired).toEqual([]);
  });
});

describe("monotonicClock", () => {
  it("never decreases", () => {
    let prev = monotonicClock.now();
    for (let i = 0; i < 1000; i++) {
      const n = monotonicClock.now();
      expect(n).toBeGreaterThanOrEqual(prev);
      prev = n;
    }
  });
});
