/**
 * A simulated network for IKE engines (design.md: test/sim): N engines, one virtual clock, and a
 * link that can delay, drop, duplicate and reorder datagrams, all drawn from a seeded Random so
 * every run replays exactly. The loop is driven the way the daemon drives the engine: deliver
 * the next datagram or fire `handleTimeout` at the engine's `nextDeadline()`, whichever is first,
 * and drain `pollOutput()` after every call.
 *
 * An optional NAT in front of a node rewrites its source address/port on the way out and back on
 * the way in, so NAT detection (RFC 7296 s2.23) sees a real mismatch.
 */
import type { ChildSaSpec, EngineEvent, IkeOutput, InboundDatagram, Millis, UdpEndpoint } from "../../src/ike/api.js";
import { type Random, randomInt, seededRandom } from "../../src/crypto/random.js";
import type { IkeSa } from "../../src/ike/ike-sa.js";

/**
 * The engine's nextDeadline(), checked against a scan of every IKE SA's timers and Child SA
 * lifetimes when the engine lists its SAs (IkeEngine keeps the earliest deadline in a queue
 * updated through hooks: a mutation that bypasses them would show here, in every simulation).
 */
function checkedNextDeadline(engine: SimEngine): Millis | undefined {
  const d = engine.nextDeadline();
  if (engine.ikeSas === undefined) return d;
  let best: Millis | undefined;
  const take = (t: Millis | undefined): void => {
    if (t !== undefined && (best === undefined || t < best)) best = t;
  };
  for (const sa of engine.ikeSas()) {
    take(sa.timers.next());
    for (const c of sa.children.values()) {
      if (c.state === "installed") take(c.rekeyAt);
      take(c.expireAt);
    }
  }
  if (d !== best) throw new Error(`engine nextDeadline() ${d} but its SAs' earliest deadline is ${best}`);
  checkIndexes(engine);
  return d;
}

/**
 * IkeEngine's look-ups by id and by peer identity (kept through IkeSa hooks, like the deadline
 * queue) against a scan of every SA, at every step of every simulation.
 */
function checkIndexes(engine: SimEngine): void {
  if (engine.ikeSas === undefined || engine.ikeSaById === undefined || engine.ikeSasWithRemoteId === undefined) return;
  const all = [...engine.ikeSas()];
  const ids = new Set<string>();
  for (const sa of all) {
    if (engine.ikeSaById(sa.id) !== sa) throw new Error(`ikeSaById(${sa.id}) does not find the live IKE SA`);
    if (sa.remoteId !== undefined) ids.add(sa.remoteId);
  }
  for (const id of ids) {
    const scan = all.filter((s) => s.remoteId === id).sort((a, b) => a.id - b.id);
    const got = engine.ikeSasWithRemoteId(id);
    if (got.length !== scan.length || got.some((s, i) => s !== scan[i])) throw new Error(`ikeSasWithRemoteId(${id}) gives [${got.map((s) => s.id).join(",")}], a scan [${scan.map((s) => s.id).join(",")}]`);
  }
}

/** What the simulation needs from an engine (IkeEngine satisfies it). */
export interface SimEngine {
  handleDatagram(now: Millis, d: InboundDatagram): void;
  handleTimeout(now: Millis): void;
  pollOutput(): IkeOutput | undefined;
  nextDeadline(): Millis | undefined;
  /** IkeEngine's live SAs: when present, every nextDeadline() is checked against them. */
  ikeSas?(): Iterable<IkeSa>;
  ikeSaById?(id: number): IkeSa | undefined;
  ikeSasWithRemoteId?(remoteId: string): IkeSa[];
}

export interface LinkConfig {
  /** Probability 0..1 that a datagram is lost. */
  loss: number;
  /** Probability 0..1 that a datagram is delivered twice. */
  duplicate: number;
  /** Probability 0..1 that a datagram gets an extra delay (so later ones overtake it). */
  reorder: number;
  /** Base one-way delay, ms. */
  delayMs: number;
  /** Extra delay for reordered datagrams, up to this many ms. */
  reorderDelayMs: number;
}

export const PERFECT_LINK: LinkConfig = { loss: 0, duplicate: 0, reorder: 0, delayMs: 10, reorderDelayMs: 0 };

export interface SimNode {
  name: string;
  address: string;
  engine: SimEngine;
  /** Child SAs installed and not yet deleted, by engine id. */
  installed: Map<number, ChildSaSpec>;
  /** Every installChildSa ever seen, in order. */
  installLog: ChildSaSpec[];
  deleteLog: Array<{ id: number; spiIn: number; spiOut: number; reason: string }>;
  established: Array<{ ikeSaId: number; connection: string }>;
  closed: Array<{ ikeSaId: number; connection: string; reason: string }>;
  /** ikeSaRekeyed outputs: Child SAs moved to a new IKE SA. */
  rekeyed: Array<{ oldIkeSaId: number; newIkeSaId: number; childIds: number[] }>;
  events: EngineEvent[];
  /** Every datagram this node sent (after NAT), for tests that inspect the wire. */
  sent: Array<{ at: Millis; from: UdpEndpoint; to: UdpEndpoint; bytes: Uint8Array }>;
  /** Public address when behind a NAT. */
  natPublic: string | undefined;
  /** When false the node is "powered off": datagrams to it vanish and its timers do not run. */
  up: boolean;
}

interface InFlight {
  at: Millis;
  seq: number;
  to: SimNode;
  datagram: InboundDatagram;
}

export class SimNetwork {
  now: Millis = 1_000_000;
  readonly nodes: SimNode[] = [];
  link: LinkConfig;
  readonly #rng: Random;
  #queue: InFlight[] = [];
  #seq = 0;
  /** Drop filter for targeted tests: return true to lose this datagram. */
  dropIf: ((from: SimNode, to: SimNode, bytes: Uint8Array) => boolean) | undefined;
  /** Rewrite filter for targeted tests (tamper with bytes in flight). */
  rewrite: ((from: SimNode, to: SimNode, bytes: Uint8Array) => Uint8Array) | undefined;

  constructor(seed: number | string, link: LinkConfig = PERFECT_LINK) {
    this.#rng = seededRandom(`link-${seed}`);
    this.link = link;
  }

  addNode(name: string, address: string, engine: SimEngine, natPublic?: string): SimNode {
    const node: SimNode = {
      name, address, engine, installed: new Map(), installLog: [], deleteLog: [], established: [], closed: [], rekeyed: [],
      events: [], sent: [], natPublic, up: true,
    };
    this.nodes.push(node);
    this.drain(node);
    return node;
  }

  /** Replaces a node's engine (a "reboot": all its state is gone). */
  replaceEngine(node: SimNode, engine: SimEngine): void {
    node.engine = engine;
    node.installed.clear();
    node.up = true;
    this.drain(node);
  }

  #chance(p: number): boolean {
    if (p <= 0) return false;
    return randomInt(this.#rng, 1_000_000) < p * 1_000_000;
  }

  #nodeFor(address: string): SimNode | undefined {
    return this.nodes.find((n) => n.natPublic === address) ?? this.nodes.find((n) => n.address === address && n.natPublic === undefined);
  }

  /** Runs `f` against a node's engine at the current time, then collects its outputs. */
  call(node: SimNode, f: (e: SimEngine, now: Millis) => void): void {
    f(node.engine, this.now);
    this.drain(node);
  }

  /** Injects a datagram as if it came from the network (for malformed-input tests). */
  inject(to: SimNode, from: UdpEndpoint, bytes: Uint8Array, localPort = 500): void {
    to.engine.handleDatagram(this.now, { local: { address: to.address, port: localPort }, remote: from, bytes });
    this.drain(to);
  }

  drain(node: SimNode): void {
    for (let o = node.engine.pollOutput(); o !== undefined; o = node.engine.pollOutput()) this.#output(node, o);
  }

  #output(node: SimNode, o: IkeOutput): void {
    switch (o.kind) {
      case "transmit": {
        let from = o.from;
        if (node.natPublic !== undefined) from = { address: node.natPublic, port: o.from.port + 10000 };
        node.sent.push({ at: this.now, from, to: o.to, bytes: o.bytes });
        const to = this.#nodeFor(o.to.address);
        if (!to) return;
        let bytes = o.bytes;
        if (this.dropIf?.(node, to, bytes)) return;
        if (this.rewrite) bytes = this.rewrite(node, to, bytes);
        if (this.#chance(this.link.loss)) return;
        const copies = this.#chance(this.link.duplicate) ? 2 : 1;
        for (let i = 0; i < copies; i++) {
          let delay = this.link.delayMs;
          if (this.#chance(this.link.reorder)) delay += 1 + randomInt(this.#rng, Math.max(1, this.link.reorderDelayMs));
          // The receiver behind a NAT sees its private address and the original port.
          const local = to.natPublic !== undefined ? { address: to.address, port: o.to.port - 10000 } : o.to;
          this.#queue.push({ at: this.now + delay, seq: this.#seq++, to, datagram: { local, remote: from, bytes: bytes.slice() } });
        }
        return;
      }
      case "installChildSa":
        node.installed.set(o.sa.id, o.sa);
        node.installLog.push(o.sa);
        return;
      case "deleteChildSa":
        node.installed.delete(o.id);
        node.deleteLog.push({ id: o.id, spiIn: o.spiIn, spiOut: o.spiOut, reason: o.reason });
        return;
      case "ikeSaEstablished":
        node.established.push({ ikeSaId: o.ikeSaId, connection: o.connection });
        return;
      case "ikeSaClosed":
        node.closed.push({ ikeSaId: o.ikeSaId, connection: o.connection, reason: o.reason });
        return;
      case "ikeSaRekeyed":
        node.rekeyed.push({ oldIkeSaId: o.oldIkeSaId, newIkeSaId: o.newIkeSaId, childIds: o.childIds });
        return;
      case "event":
        node.events.push(o.event);
        return;
    }
  }

  /** The time of the next thing that happens (delivery or a deadline), or undefined when idle. */
  nextTime(): Millis | undefined {
    let t: Millis | undefined;
    for (const f of this.#queue) if (t === undefined || f.at < t) t = f.at;
    for (const n of this.nodes) {
      if (!n.up) continue;
      const d = checkedNextDeadline(n.engine);
      if (d !== undefined && (t === undefined || d < t)) t = d;
    }
    return t;
  }

  /** Advances to the next event and runs everything due then. Returns false when idle. */
  step(limit: Millis = Infinity): boolean {
    const t = this.nextTime();
    if (t === undefined || t > limit) return false;
    this.now = Math.max(this.now, t);
    const due = this.#queue.filter((f) => f.at <= this.now).sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.#queue = this.#queue.filter((f) => f.at > this.now);
    for (const f of due) {
      if (!f.to.up) continue;
      f.to.engine.handleDatagram(this.now, f.datagram);
      this.drain(f.to);
    }
    for (const n of this.nodes) {
      if (!n.up) continue;
      const d = checkedNextDeadline(n.engine);
      if (d !== undefined && d <= this.now) {
        n.engine.handleTimeout(this.now);
        this.drain(n);
      }
    }
    return true;
  }

  /** Runs for `ms` of virtual time (or until nothing is left to do). */
  runFor(ms: Millis, maxSteps = 100_000): void {
    const end = this.now + ms;
    for (let i = 0; i < maxSteps && this.step(end); i++) { /* step */ }
    this.now = Math.max(this.now, end);
  }

  /** Runs until `done()` holds, checking after every step; false if it never held within `ms`. */
  runUntil(done: () => boolean, ms: Millis = 600_000, maxSteps = 100_000): boolean {
    const end = this.now + ms;
    for (let i = 0; i < maxSteps; i++) {
      if (done()) return true;
      if (!this.step(end)) break;
    }
    return done();
  }

  /** Datagrams still in flight. */
  get inFlight(): number {
    return this.#queue.length;
  }
}
