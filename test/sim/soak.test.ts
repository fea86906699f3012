/**
 * Seeded random runs (design.md test/sim): 200 seeds over a link with 20% loss, 20% duplication
 * and 20% reordering. Each run establishes, rekeys the Child SA from both sides (one step with
 * both at once), rekeys the IKE SA from both sides (and at once, and across a Child SA rekey),
 * and deletes; after every step both engines
 * must agree on exactly one Child SA pair (or none at the end).
 */
import { describe, it, expect } from "vitest";
import { makePair, pairedChildren, errorsOf, type Pair } from "./fixtures.js";
import type { IkeEngine } from "../../src/ike/engine.js";

const LOSSY = { loss: 0.2, duplicate: 0.2, reorder: 0.2, delayMs: 20, reorderDelayMs: 300 };
// Enough tries that a 20%-loss link (36% per round trip) practically never exhausts them.
const RETRANSMIT = { timeoutSeconds: 2, base: 1.5, tries: 12 };
const SEEDS = 200;

function converged(p: Pair): boolean {
  const sa = p.engA.listSas(p.net.now);
  const sb = p.engB.listSas(p.net.now);
  return (
    sa.length === 1 && sb.length === 1 && sa[0]!.state === "ESTABLISHED" && sb[0]!.state === "ESTABLISHED" &&
    sa[0]!.spiI === sb[0]!.spiI && p.a.installed.size === 1 && p.b.installed.size === 1 && pairedChildren(p.a, p.b).length === 1 &&
    sa[0]!.children.every((c) => c.state === "INSTALLED") && sb[0]!.children.every((c) => c.state === "INSTALLED")
  );
}

function step(p: Pair, what: string, f: () => void): void {
  f();
  // Let retransmissions, deletes and collisions play out, then demand agreement.
  p.net.runFor(120_000);
  if (!converged(p)) throw new Error(`did not converge after ${what}: A ${JSON.stringify(p.engA.listSas(p.net.now).map((s) => [s.state, s.children.map((c) => c.state)]))} B ${JSON.stringify(p.engB.listSas(p.net.now).map((s) => [s.state, s.children.map((c) => c.state)]))}`);
}

describe("RFC 7296 s2.1-2.8: 200 seeded runs over a lossy, duplicating, reordering link converge", () => {
  it(`establish, rekey both SA kinds from both sides, delete: ${SEEDS} seeds`, () => {
    let rekeys = 0;
    for (let seed = 0; seed < SEEDS; seed++) {
      const p = makePair(`soak-${seed}`, { retransmit: RETRANSMIT }, { retransmit: RETRANSMIT }, LOSSY);
      const A = (f: (e: IkeEngine, now: number) => void) => p.net.call(p.a, (e, now) => f(e as IkeEngine, now));
      const B = (f: (e: IkeEngine, now: number) => void) => p.net.call(p.b, (e, now) => f(e as IkeEngine, now));
      try {
        step(p, "initiate", () => A((e, now) => e.initiate(now, "site")));
        step(p, "A rekeys the Child SA", () => A((e, now) => e.rekeyChild(now, "site")));
        step(p, "B rekeys the Child SA", () => B((e, now) => e.rekeyChild(now, "site")));
        step(p, "both rekey the Child SA", () => {
          A((e, now) => e.rekeyChild(now, "site"));
          B((e, now) => e.rekeyChild(now, "site"));
        });
        step(p, "A rekeys the IKE SA", () => A((e, now) => e.rekeyIke(now, "site")));
        step(p, "B rekeys the IKE SA", () => B((e, now) => e.rekeyIke(now, "site")));
        step(p, "both rekey the IKE SA", () => {
          A((e, now) => e.rekeyIke(now, "site"));
          B((e, now) => e.rekeyIke(now, "site"));
        });
        step(p, "A rekeys the IKE SA while B rekeys the Child SA", () => {
          A((e, now) => e.rekeyIke(now, "site"));
          B((e, now) => e.rekeyChild(now, "site"));
        });
        A((e, now) => e.terminate(now, "site"));
        p.net.runFor(300_000);
      } catch (e) {
        throw new Error(`seed ${seed}: ${(e as Error).message}\nA: ${p.a.events.slice(-15).map((x) => x.message).join("\n   ")}\nB: ${p.b.events.slice(-15).map((x) => x.message).join("\n   ")}`);
      }
      expect(p.engA.listSas(p.net.now), `seed ${seed}`).toEqual([]);
      expect(p.engB.listSas(p.net.now), `seed ${seed}`).toEqual([]);
      expect(p.a.installed.size, `seed ${seed}`).toBe(0);
      expect(p.b.installed.size, `seed ${seed}`).toBe(0);
      expect(errorsOf(p.a), `seed ${seed}`).toEqual([]);
      expect(errorsOf(p.b), `seed ${seed}`).toEqual([]);
      rekeys += p.a.installLog.filter((s) => s.replaces !== undefined).length;
    }
    expect(rekeys).toBeGreaterThanOrEqual(SEEDS * 3);
  }, 120_000);
});
