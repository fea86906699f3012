import { describe, it, expect } from "vitest";
import { MessageIds, retransmitDelay } from "../../src/ike/message-ids.js";
import { TimerTable } from "../../src/ike/timers.js";

const CFG = { timeoutSeconds: 4, base: 1.8, tries: 5 };

describe("RFC 7296 s2.3: Message ID windows (size 1)", () => {
  const table: Array<{ name: string; expected: number; cached: number | undefined; id: number; verdict: string }> = [
    { name: "the next ID is new", expected: 5, cached: 4, id: 5, verdict: "new" },
    { name: "the last answered ID is a retransmission", expected: 5, cached: 4, id: 4, verdict: "retransmit" },
    { name: "an older ID is old", expected: 5, cached: 4, id: 2, verdict: "old" },
    { name: "ID 0 with nothing cached is old", expected: 1, cached: undefined, id: 0, verdict: "old" },
    { name: "beyond the window", expected: 5, cached: 4, id: 6, verdict: "outOfWindow" },
    { name: "far beyond the window", expected: 5, cached: 4, id: 0x7fffffff, verdict: "outOfWindow" },
    { name: "wraps at 2^32", expected: 0, cached: 0xffffffff, id: 0xffffffff, verdict: "retransmit" },
  ];
  for (const t of table) {
    it(t.name, () => {
      const m = new MessageIds(0, 0);
      if (t.cached !== undefined) m.responded(t.cached, [new Uint8Array([1, 2, 3])]);
      m.expectedPeerRequestId = t.expected;
      const v = m.classifyRequest(t.id);
      expect(v.kind).toBe(t.verdict);
      if (v.kind === "retransmit") expect(v.packets).toEqual([new Uint8Array([1, 2, 3])]);
    });
  }

  it("our requests: one outstanding, counter advances, responses must match it", () => {
    const m = new MessageIds();
    expect(m.canSend).toBe(true);
    const p = m.sent(0, 37, [new Uint8Array([9])], CFG);
    expect(p.messageId).toBe(0);
    expect(m.canSend).toBe(false);
    expect(m.isExpectedResponse(1)).toBe(false);
    expect(m.isExpectedResponse(0)).toBe(true);
    m.completed();
    expect(m.nextRequestId).toBe(1);
    expect(m.isExpectedResponse(0)).toBe(false);
  });
});

describe("RFC 7296 s2.1: retransmission back-off", () => {
  it("waits timeoutSeconds * base^n and gives up after `tries` retransmissions", () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => retransmitDelay(CFG, n))).toEqual([4000, 7200, 12960, 23328, 41990, 75583]);
    const m = new MessageIds();
    m.sent(0, 37, [new Uint8Array([7])], CFG);
    let now = 0;
    const sends: number[] = [];
    for (;;) {
      now = m.pending!.deadline;
      const r = m.onTimeout(now, CFG);
      if (r === "giveUp") break;
      expect(r).toEqual([new Uint8Array([7])]);
      sends.push(now);
    }
    expect(sends).toEqual([4000, 11200, 24160, 47488, 89478]);
    expect(now).toBe(165061);
  });

  it("a timeout before the deadline does nothing (stale timer)", () => {
    const m = new MessageIds();
    m.sent(0, 37, [new Uint8Array([7])], CFG);
    expect(m.onTimeout(3999, CFG)).toBeUndefined();
    expect(m.pending!.retransmits).toBe(0);
  });
});

describe("design.md rule 7: a table of named deadlines", () => {
  it("returns the earliest deadline and takes due names in order", () => {
    const t = new TimerTable<"a" | "b" | "c">();
    expect(t.next()).toBeUndefined();
    t.set("a", 300);
    t.set("b", 100);
    t.set("c", 200);
    expect(t.next()).toBe(100);
    expect(t.takeDue(250)).toEqual(["b", "c"]);
    expect(t.next()).toBe(300);
    t.set("a", 50);
    expect(t.takeDue(60)).toEqual(["a"]);
    expect(t.next()).toBeUndefined();
  });
});
