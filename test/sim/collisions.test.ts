import { describe, it, expect } from "vitest";
import { makePair, pairedChildren, errorsOf, sitePair, A_ADDR, B_ADDR, type Pair } from "./fixtures.js";
import { SimNetwork } from "./network.js";
import { IkeEngine } from "../../src/ike/engine.js";
import { seededRandom, type Random } from "../../src/crypto/random.js";
import { weLoseCollision, compareNonces } from "../../src/ike/exchanges/create-child-sa.js";

function up(p: Pair): void {
  p.net.call(p.a, (e, now) => (e as IkeEngine).initiate(now, "site"));
  expect(p.net.runUntil(() => p.a.installed.size === 1 && p.b.installed.size === 1, 10_000)).toBe(true);
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((r) => [x, ...r]));
}

describe("RFC 7296 s2.8.1: the SA created with the lowest of the four nonces is closed by its creator", () => {
  // Four distinct nonces: our exchange (ourNi, peerNr), the peer's exchange (peerNi, ourNr).
  const n = (b: number): Uint8Array => new Uint8Array([b, ...new Array(15).fill(0x55)]);
  for (const order of permutations([1, 2, 3, 4])) {
    const [ourNi, peerNr, peerNi, ourNr] = order.map(n) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    const lowestIsOurs = order[0] === 1 || order[1] === 1;
    it(`nonce ranks ourNi=${order[0]} peerNr=${order[1]} peerNi=${order[2]} ourNr=${order[3]}: ${lowestIsOurs ? "we" : "the peer"} delete(s) the redundant SA`, () => {
      const ours = { ni: ourNi, nr: peerNr };
      const theirs = { ni: peerNi, nr: ourNr };
      expect(weLoseCollision(ours, theirs)).toBe(lowestIsOurs);
      // The peer evaluates the mirror image and must reach the opposite verdict.
      expect(weLoseCollision(theirs, ours)).toBe(!lowestIsOurs);
    });
  }

  it("compares nonces as unsigned big-endian octet strings", () => {
    expect(compareNonces(new Uint8Array([0x01, 0xff]), new Uint8Array([0x02, 0x00]))).toBeLessThan(0);
    expect(compareNonces(new Uint8Array([0x80]), new Uint8Array([0x7f]))).toBeGreaterThan(0);
  });
});

describe("RFC 7296 s2.8.1: simultaneous Child SA rekeys in the simulated network", () => {
  const outcomes = { aLost: 0, bLost: 0 };
  for (let seed = 0; seed < 24; seed++) {
    it(`seed ${seed}: both sides rekey at once and converge on one Child SA pair`, () => {
      const p = makePair(`child-collision-${seed}`);
      up(p);
      // CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, TSi, TSr } --> crossing <-- CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, TSi, TSr }
      // each side answers the other's request while its own is outstanding; both new SAs exist
      // until the loser deletes its own and the winner deletes the old one.
      p.net.call(p.a, (e, now) => (e as IkeEngine).rekeyChild(now, "site"));
      p.net.call(p.b, (e, now) => (e as IkeEngine).rekeyChild(now, "site"));
      p.net.runFor(60_000);
      expect(errorsOf(p.a)).toEqual([]);
      expect(errorsOf(p.b)).toEqual([]);
      expect(p.a.installed.size).toBe(1);
      expect(p.b.installed.size).toBe(1);
      expect(pairedChildren(p.a, p.b).length).toBe(1);
      const aLost = p.a.events.some((e) => e.message.includes("rekey collision") && e.message.includes("lowest nonce"));
      const bLost = p.b.events.some((e) => e.message.includes("rekey collision") && e.message.includes("lowest nonce"));
      expect(aLost !== bLost).toBe(true);
      if (aLost) outcomes.aLost++;
      else outcomes.bLost++;
      // Three SAs were installed on each side (original + two rekeys) and two were deleted.
      expect(p.a.installLog.length).toBe(3);
      expect(p.a.deleteLog.length).toBe(2);
    });
  }
  it("both outcomes occurred across the seeds", () => {
    expect(outcomes.aLost).toBeGreaterThan(0);
    expect(outcomes.bLost).toBeGreaterThan(0);
  });
});

describe("RFC 7296 s2.8.2: simultaneous IKE SA rekeys", () => {
  for (let seed = 0; seed < 12; seed++) {
    it(`seed ${seed}: both sides rekey the IKE SA at once and converge on one IKE SA with the Child SA`, () => {
      const p = makePair(`ike-collision-${seed}`);
      up(p);
      p.net.call(p.a, (e, now) => (e as IkeEngine).rekeyIke(now, "site"));
      p.net.call(p.b, (e, now) => (e as IkeEngine).rekeyIke(now, "site"));
      p.net.runFor(60_000);
      expect(errorsOf(p.a)).toEqual([]);
      expect(errorsOf(p.b)).toEqual([]);
      const la = p.engA.listSas(p.net.now);
      const lb = p.engB.listSas(p.net.now);
      expect(la.length).toBe(1);
      expect(lb.length).toBe(1);
      expect(la[0]!.spiI).toBe(lb[0]!.spiI);
      expect(la[0]!.children.length).toBe(1);
      expect(lb[0]!.children.length).toBe(1);
      expect(p.a.deleteLog.length).toBe(0);
      // Both exchanges completed (original + two new IKE SAs on each side); one new SA was redundant.
      expect(p.a.established.length).toBe(3);
      expect(p.b.established.length).toBe(3);
      const aLost = p.a.events.some((e) => e.message.includes("IKE SA rekey collision"));
      const bLost = p.b.events.some((e) => e.message.includes("IKE SA rekey collision"));
      expect(aLost !== bLost).toBe(true);
      // And it still works.
      p.net.call(p.b, (e, now) => (e as IkeEngine).rekeyChild(now, "site"));
      p.net.runFor(30_000);
      expect(pairedChildren(p.a, p.b).length).toBe(1);
      expect(p.a.installed.size).toBe(1);
    });
  }
});

describe("RFC 7296 s2.25: a rekey crossing a DELETE", () => {
  it("A rekeys the Child SA while B deletes it (s2.25.1): both end with no Child SA and the IKE SA up", () => {
    const p = makePair("rekey-vs-delete");
    up(p);
    p.net.call(p.a, (e, now) => (e as IkeEngine).rekeyChild(now, "site"));
    p.net.call(p.b, (e, now) => (e as IkeEngine).terminateChild(now, "site", "net"));
    // CREATE_CHILD_SA { N(REKEY_SA), ... } -->   <-- INFORMATIONAL { D(ESP) }
    // s2.25.1: B is closing that SA: <-- { N(TEMPORARY_FAILURE) }; A answers the DELETE as usual
    // with its own D and does not retry (the SA is gone).
    p.net.runFor(60_000);
    expect(p.a.events.some((e) => e.message.includes("TEMPORARY_FAILURE"))).toBe(true);
    expect(p.a.installed.size).toBe(0);
    expect(p.a.installLog.length).toBe(1);
    expect(errorsOf(p.a)).toEqual([]);
    expect(errorsOf(p.b)).toEqual([]);
    // Whatever survives is paired; nothing is half-installed.
    expect(p.a.installed.size).toBe(p.b.installed.size);
    expect(pairedChildren(p.a, p.b).length).toBe(p.a.installed.size);
    expect(p.engA.listSas(p.net.now)[0]!.state).toBe("ESTABLISHED");
  });

  it("IKE SA rekey while the peer has a Child SA rekey outstanding gets TEMPORARY_FAILURE and is retried", () => {
    const p = makePair("ike-vs-child");
    up(p);
    p.net.call(p.a, (e, now) => (e as IkeEngine).rekeyChild(now, "site"));
    p.net.call(p.b, (e, now) => (e as IkeEngine).rekeyIke(now, "site"));
    p.net.runFor(60_000);
    expect(errorsOf(p.a)).toEqual([]);
    expect(errorsOf(p.b)).toEqual([]);
    expect(pairedChildren(p.a, p.b).length).toBe(1);
    expect(p.a.installed.size).toBe(1);
    const la = p.engA.listSas(p.net.now);
    const lb = p.engB.listSas(p.net.now);
    expect(la.length).toBe(1);
    expect(la[0]!.spiI).toBe(lb[0]!.spiI);
    expect(p.b.established.length).toBe(2);
    expect(p.b.events.some((e) => e.message.includes("TEMPORARY_FAILURE"))).toBe(true);
  });
});

describe("RFC 7296 s2.8.1 in the simulated network: every ordering of the four nonces", () => {
  /** Random whose next 32-byte draws (the nonces, once the IKE SA is up) start with scripted octets. */
  function scripted(seed: string): { random: Random; script: number[] } {
    const base = seededRandom(seed);
    const script: number[] = [];
    return {
      script,
      random: {
        bytes(n: number): Uint8Array {
          const out = base.bytes(n);
          if (n === 32 && script.length > 0) out[0] = script.shift() as number;
          return out;
        },
      },
    };
  }

  for (const order of permutations([1, 2, 3, 4])) {
    // A's exchange carries Ni_A and Nr_B; B's exchange carries Ni_B and Nr_A.
    const [niA, nrA, niB, nrB] = order as [number, number, number, number];
    const aLoses = Math.min(niA, nrB) < Math.min(niB, nrA);
    it(`Ni_A=${niA} Nr_A=${nrA} Ni_B=${niB} Nr_B=${nrB}: ${aLoses ? "A" : "B"} deletes its own new SA, the other deletes the old one`, () => {
      const cfg = sitePair();
      const ra = scripted(`order-a-${order.join("")}`);
      const rb = scripted(`order-b-${order.join("")}`);
      const net = new SimNetwork(`order-${order.join("")}`);
      const engA = new IkeEngine(cfg.a, ra.random, net.now);
      const engB = new IkeEngine(cfg.b, rb.random, net.now);
      const a = net.addNode("A", A_ADDR, engA);
      const b = net.addNode("B", B_ADDR, engB);
      net.call(a, (e, now) => (e as IkeEngine).initiate(now, "site"));
      expect(net.runUntil(() => a.installed.size === 1 && b.installed.size === 1, 10_000)).toBe(true);
      const old = [...a.installed.values()][0]!;
      // Each side draws its Ni when it starts and its Nr when it answers the other's request.
      ra.script.push(niA * 0x10, nrA * 0x10);
      rb.script.push(niB * 0x10, nrB * 0x10);
      // CREATE_CHILD_SA { N(REKEY_SA), SA, Ni_A, TSi, TSr } -->   <-- CREATE_CHILD_SA { N(REKEY_SA), SA, Ni_B, TSi, TSr }
      // <-- { SA, Nr_B, TSi, TSr }                                  { SA, Nr_A, TSi, TSr } -->
      net.call(a, (e, now) => (e as IkeEngine).rekeyChild(now, "site"));
      net.call(b, (e, now) => (e as IkeEngine).rekeyChild(now, "site"));
      net.runFor(30_000);
      expect(ra.script).toEqual([]);
      expect(rb.script).toEqual([]);
      const lost = (n: typeof a) => n.events.some((e) => e.message.includes("our SA has the lowest nonce"));
      expect(lost(a)).toBe(aLoses);
      expect(lost(b)).toBe(!aLoses);
      // Survivor: the SA of the winning exchange, on both sides; the old one is gone.
      expect(pairedChildren(a, b).length).toBe(1);
      const [sa] = pairedChildren(a, b)[0]!;
      expect(sa.spiIn).not.toBe(old.spiIn);
      // The loser deleted the SA it created; the winner deleted the old SA (s2.8.1).
      const [loser, winner] = aLoses ? [a, b] : [b, a];
      expect(loser.deleteLog.some((d) => d.reason === "redundant after rekey collision")).toBe(true);
      expect(winner.deleteLog.some((d) => d.reason === "rekeyed")).toBe(true);
      expect(winner.deleteLog.some((d) => d.reason === "redundant after rekey collision")).toBe(false);
      expect(a.deleteLog.some((d) => d.id === old.id)).toBe(true);
      expect(b.installed.size).toBe(1);
      expect(a.installed.size).toBe(1);
    });
  }
});

describe("RFC 7296 s2.8.2 in the simulated network: simultaneous IKE SA rekeys under every nonce ordering", () => {
  function scripted(seed: string): { random: Random; script: number[] } {
    const base = seededRandom(seed);
    const script: number[] = [];
    return {
      script,
      random: {
        bytes(n: number): Uint8Array {
          const out = base.bytes(n);
          // ECP-384 keys are 48 bytes, so the only 32-byte draws here are the nonces.
          if (n === 32 && script.length > 0) out[0] = script.shift() as number;
          return out;
        },
      },
    };
  }
  for (const order of permutations([1, 2, 3, 4])) {
    const [niA, nrA, niB, nrB] = order as [number, number, number, number];
    const aLoses = Math.min(niA, nrB) < Math.min(niB, nrA);
    it(`Ni_A=${niA} Nr_A=${nrA} Ni_B=${niB} Nr_B=${nrB}: ${aLoses ? "A" : "B"}'s new IKE SA is redundant; the Child SA ends on the other`, () => {
      const opts = { ikeProposals: ["aes128gcm16-prfsha256-ecp384"] };
      const cfg = sitePair(opts, opts);
      const ra = scripted(`ike-order-a-${order.join("")}`);
      const rb = scripted(`ike-order-b-${order.join("")}`);
      const net = new SimNetwork(`ike-order-${order.join("")}`);
      const engA = new IkeEngine(cfg.a, ra.random, net.now);
      const engB = new IkeEngine(cfg.b, rb.random, net.now);
      const a = net.addNode("A", A_ADDR, engA);
      const b = net.addNode("B", B_ADDR, engB);
      net.call(a, (e, now) => (e as IkeEngine).initiate(now, "site"));
      expect(net.runUntil(() => a.installed.size === 1 && b.installed.size === 1, 10_000)).toBe(true);
      ra.script.push(niA * 0x10, nrA * 0x10);
      rb.script.push(niB * 0x10, nrB * 0x10);
      // CREATE_CHILD_SA { SA(SPIi'), Ni_A, KEi } -->   <-- CREATE_CHILD_SA { SA(SPIi''), Ni_B, KEi }
      net.call(a, (e, now) => (e as IkeEngine).rekeyIke(now, "site"));
      net.call(b, (e, now) => (e as IkeEngine).rekeyIke(now, "site"));
      net.runFor(30_000);
      expect(ra.script).toEqual([]);
      expect(rb.script).toEqual([]);
      const lost = (n: typeof a) => n.events.some((e) => e.message.includes("IKE SA rekey collision"));
      expect(lost(a)).toBe(aLoses);
      expect(lost(b)).toBe(!aLoses);
      const la = engA.listSas(net.now);
      const lb = engB.listSas(net.now);
      expect(la.length).toBe(1);
      expect(lb.length).toBe(1);
      expect(la[0]!.spiI).toBe(lb[0]!.spiI);
      // The surviving IKE SA was created by the winner's exchange: its initiator is the winner.
      expect(la[0]!.initiator).toBe(!aLoses);
      expect(la[0]!.children.length).toBe(1);
      expect(lb[0]!.children.length).toBe(1);
      expect(pairedChildren(a, b).length).toBe(1);
      expect(a.deleteLog.length + b.deleteLog.length).toBe(0);
    });
  }
});
