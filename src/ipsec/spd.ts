import type { PacketSelector } from "../wire/ip.js";
import { compareWords, familyWidth, PROTOCOL_ANY, selectorMatches, type TrafficSelector } from "./selectors.js";

/**
 * Security Policy Database (RFC 4301 s4.4.1): an ordered list of policies; a packet gets the action
 * of the FIRST policy (in order) one of whose selectors matches it. Decorrelation is therefore not
 * required of the operator: order decides, exactly as in RFC 4301 s4.4.1's ordered-SPD model.
 *
 * Theory of operation (the index). A linear scan is O(policies) per packet, too slow with 10,000
 * policies. The index buckets selectors by address family and next-layer protocol (a selector with
 * protocol ANY goes into every bucket), then cuts the remote address space of each bucket into
 * elementary intervals at every selector's range bounds. Each elementary interval lists, in policy
 * order, the selectors whose remote range covers it. A lookup binary-searches the interval holding
 * the packet's remote address (destination for outbound, source for inbound) and checks only that
 * interval's candidates in order; the first full match is the first match of the whole SPD,
 * because every selector that could match is among the candidates and they are in policy order.
 * The index is rebuilt lazily after a change. Memory is the sum over selectors of the number of
 * intervals each covers: linear for typical prefix policies, quadratic only when many wide ranges
 * overlap many narrow ones.
 */

export type PolicyAction = "PROTECT" | "BYPASS" | "DISCARD";

export interface Policy {
  /** Caller-chosen identifier (unique in this SPD); SAs are bound to it. */
  readonly id: number;
  readonly action: PolicyAction;
  /** The policy matches a packet when any of these matches. */
  readonly selectors: readonly TrafficSelector[];
  /** Free-form label for operators. */
  readonly name?: string;
}

interface Entry {
  readonly policy: Policy;
  readonly order: number;
  readonly selector: TrafficSelector;
}

class Bucket {
  /** Sorted interval start points, `width` words each. */
  boundaries: Uint32Array = new Uint32Array(0);
  count = 0;
  candidates: Entry[][] = [];

  constructor(readonly width: number) {}

  /** Index of the interval holding `addr`, or -1 when below the first boundary. */
  find(addr: Uint32Array): number {
    let lo = 0;
    let hi = this.count - 1;
    let best = -1;
    const w = this.width;
    if (w === 1) {
      // IPv4: one word per boundary, compared inline (the hot path).
      const a = addr[0] as number;
      const b = this.boundaries;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (a >= (b[mid] as number)) {
          best = mid;
          lo = mid + 1;
        } else {
          hi = mid - 1;
        }
      }
      return best;
    }
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compareWords(addr, this.boundaries, w, mid * w) >= 0) {
        best = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return best;
  }
}

interface FamilyIndex {
  /** Buckets by exact protocol, for every protocol some selector names. */
  readonly byProtocol: Map<number, Bucket>;
  /** Selectors with protocol ANY only: for protocols no selector names. */
  readonly other: Bucket;
}

export class Spd {
  private policies: Policy[] = [];
  private readonly ids = new Set<number>();
  private index: { v4: FamilyIndex; v6: FamilyIndex } | undefined;

  /** Number of policies. */
  get size(): number {
    return this.policies.length;
  }

  /** The policies in order (a copy). */
  list(): Policy[] {
    return [...this.policies];
  }

  /**
   * Inserts `policy` at `position` (default: last). Throws RangeError when the id is already
   * present (a broken invariant of the caller).
   */
  add(policy: Policy, position = this.policies.length): void {
    if (this.ids.has(policy.id)) throw new RangeError(`policy id ${policy.id} already in the SPD`);
    this.ids.add(policy.id);
    if (position >= this.policies.length) this.policies.push(policy);
    else this.policies.splice(position, 0, policy);
    this.index = undefined;
  }

  /** Removes the policy with `id`; returns it, or undefined when absent. */
  remove(id: number): Policy | undefined {
    const i = this.policies.findIndex((p) => p.id === id);
    if (i < 0) return undefined;
    const [p] = this.policies.splice(i, 1);
    this.ids.delete(id);
    this.index = undefined;
    return p;
  }

  get(id: number): Policy | undefined {
    return this.policies.find((p) => p.id === id);
  }

  /**
   * First policy (in order) matching the packet, through the index; undefined when none matches
   * (RFC 4301 s5.1: the caller then discards). `outbound` says which packet side is local.
   */
  lookup(p: PacketSelector, outbound = true): Policy | undefined {
    const idx = this.index ?? this.build();
    const fam = p.family === 4 ? idx.v4 : idx.v6;
    const bucket = fam.byProtocol.get(p.protocol) ?? fam.other;
    const i = bucket.find(outbound ? p.dst : p.src);
    if (i < 0) return undefined;
    const cands = bucket.candidates[i];
    if (cands === undefined) return undefined;
    for (let k = 0; k < cands.length; k++) {
      const e = cands[k] as Entry;
      if (selectorMatches(e.selector, p, outbound)) return e.policy;
    }
    return undefined;
  }

  /** The same answer as {@link lookup} by scanning every policy in order (reference semantics). */
  lookupLinear(p: PacketSelector, outbound = true): Policy | undefined {
    for (const pol of this.policies) {
      for (const ts of pol.selectors) if (selectorMatches(ts, p, outbound)) return pol;
    }
    return undefined;
  }

  private build(): { v4: FamilyIndex; v6: FamilyIndex } {
    const entries: Entry[] = [];
    this.policies.forEach((policy, order) => {
      for (const selector of policy.selectors) entries.push({ policy, order, selector });
    });
    const family = (f: 4 | 6): FamilyIndex => {
      const mine = entries.filter((e) => e.selector.remote.family === f);
      const protocols = new Set(mine.map((e) => e.selector.protocol).filter((x) => x !== PROTOCOL_ANY));
      const byProtocol = new Map<number, Bucket>();
      for (const proto of protocols) {
        byProtocol.set(proto, buildBucket(familyWidth(f), mine.filter((e) => e.selector.protocol === proto || e.selector.protocol === PROTOCOL_ANY)));
      }
      return { byProtocol, other: buildBucket(familyWidth(f), mine.filter((e) => e.selector.protocol === PROTOCOL_ANY)) };
    };
    this.index = { v4: family(4), v6: family(6) };
    return this.index;
  }
}

/** `a + 1` over `width` words; undefined on overflow past the top of the address space. */
function successor(a: Uint32Array, width: number): Uint32Array | undefined {
  const out = new Uint32Array(4);
  out.set(a);
  for (let i = width - 1; i >= 0; i--) {
    const v = ((out[i] as number) + 1) >>> 0;
    out[i] = v;
    if (v !== 0) return out;
  }
  return undefined;
}

function buildBucket(width: number, entries: readonly Entry[]): Bucket {
  const b = new Bucket(width);
  const points: Uint32Array[] = [];
  for (const e of entries) {
    points.push(e.selector.remote.start);
    const after = successor(e.selector.remote.end, width);
    if (after) points.push(after);
  }
  points.sort((x, y) => compareWords(x, y, width));
  const uniq: Uint32Array[] = [];
  for (const p of points) {
    const last = uniq[uniq.length - 1];
    if (last === undefined || compareWords(last, p, width) !== 0) uniq.push(p);
  }
  b.count = uniq.length;
  b.boundaries = new Uint32Array(uniq.length * width);
  uniq.forEach((p, i) => b.boundaries.set(p.subarray(0, width), i * width));
  b.candidates = uniq.map(() => []);
  // Entries are in policy order, so each candidate list ends up sorted by order.
  const sorted = [...entries].sort((x, y) => x.order - y.order);
  for (const e of sorted) {
    const first = b.find(e.selector.remote.start);
    const after = successor(e.selector.remote.end, width);
    const stop = after ? b.find(after) : b.count; // interval starting at end+1 is not covered
    for (let i = first; i < stop; i++) (b.candidates[i] as Entry[]).push(e);
  }
  return b;
}
