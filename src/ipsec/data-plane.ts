import { readU32 } from "../wire/esp.js";
import { isDecodeError } from "../wire/errors.js";
import { newPacketSelector, peekIp, type PacketSelector } from "../wire/ip.js";
import { classifyUdp4500 } from "../wire/udp-encap.js";
import { decapsulate as ahDecapsulate, encapsulate as ahEncapsulate } from "./ah.js";
import { decapsulate, encapsulate, EspBurst, espOverhead, sequenceNearlyExhausted } from "./esp.js";
import type { LifetimeEvent } from "./lifetime.js";
import { DROP_REASONS, SecurityAssociation, type DropReason, type Sad } from "./sad.js";
import type { Policy, Spd } from "./spd.js";

/**
 * The data plane facade: one call per packet, a result that says where the bytes go; or one call
 * per burst of packets (`outboundBurst`, `inboundBurst`: same results, one native AEAD call per SA
 * and burst when the addon carries the SA's transform).
 *
 * `outbound(now, ipPacket)`: SPD lookup (first match, RFC 4301 s5.1) -> DISCARD: drop; BYPASS:
 * send in clear; PROTECT: the policy's outbound SA (none: `acquire`, drop the packet; protected
 * traffic never leaves in clear) -> lifetime accounting -> ESP/AH encapsulate -> toNetwork.
 *
 * `inbound(now, bytes, from)`: `from.port` set means `bytes` is a UDP/4500 payload (RFC 3948
 * demux: IKE, keepalive or ESP); without a port, `bytes` is an ESP packet from a raw socket (or an
 * AH packet with its IP header when `protocol: 51` is given). SPI -> inbound SA (unknown: NO_SA,
 * RFC 4303 s3.4.2) -> decapsulate -> toTunnel.
 *
 * Lifetime and sequence events go to a queue drained with `pollEvent()` (design.md: outputs are
 * polled): `rekeyNeeded` at soft expiry or when the sequence counter nears its end, `expired` when an
 * SA hit a hard limit and was removed from the SAD.
 */

export interface Endpoint {
  readonly address: string;
  readonly port?: number;
}

export type DataPlaneResult =
  /** Send `bytes` to `to`: over UDP when `encapsulated` (RFC 3948), else as an IP protocol 50/51 payload. `ipHeaderIncluded` is true for AH, whose ICV covers the IP header. */
  | { readonly kind: "toNetwork"; readonly bytes: Uint8Array; readonly to: Endpoint; readonly encapsulated: boolean; readonly ipHeaderIncluded: boolean }
  /** A decrypted inner packet for the TUN device. */
  | { readonly kind: "toTunnel"; readonly bytes: Uint8Array }
  | { readonly kind: "drop"; readonly reason: DropReason }
  /** BYPASS policy: the packet goes out unprotected. */
  | { readonly kind: "bypass"; readonly bytes: Uint8Array }
  /** PROTECT without an SA: ask IKE for one (RFC 4301 s5.1 step 3a); the packet itself is dropped. */
  | { readonly kind: "acquire"; readonly policy: Policy; readonly selector: PacketSelector }
  /** An IKE message that arrived on UDP/4500 behind a Non-ESP Marker (marker stripped). */
  | { readonly kind: "ike"; readonly bytes: Uint8Array };

export type DataPlaneEvent =
  | { readonly kind: "rekeyNeeded"; readonly sa: SecurityAssociation; readonly reason: "lifetime" | "sequence" }
  | { readonly kind: "expired"; readonly sa: SecurityAssociation };

export interface DataPlaneOptions {
  readonly spd: Spd;
  readonly sad: Sad;
  /**
   * Where outbound packets are written (fast path, no allocation); a result's bytes are then valid
   * only until the next `outbound` call. Default: a fresh array per packet.
   */
  readonly outputBuffer?: Uint8Array;
  /**
   * Where inbound (decapsulated) packets are written, likewise: a `toTunnel` result's bytes are
   * then valid only until the next `inbound` call. Default: a fresh array per packet.
   */
  readonly inboundBuffer?: Uint8Array;
}

const DROPS = new Map<DropReason, DataPlaneResult>(DROP_REASONS.map((r) => [r, Object.freeze({ kind: "drop", reason: r })]));

function dropResult(reason: DropReason): DataPlaneResult {
  return DROPS.get(reason) as DataPlaneResult;
}

function growSlots(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  return a.length >= n ? a : new Int32Array(Math.max(n, a.length * 2));
}

function isEndpointList(from: Endpoint | readonly Endpoint[]): from is readonly Endpoint[] {
  return Array.isArray(from);
}

export class DataPlane {
  readonly spd: Spd;
  readonly sad: Sad;
  /** Drops that no SA could be charged with (NO_SA, NO_POLICY, MALFORMED before SPI lookup, ...). */
  readonly drops: Record<DropReason, number>;
  private readonly events: DataPlaneEvent[] = [];
  private readonly selector = newPacketSelector();
  private readonly outputBuffer: Uint8Array | undefined;
  private readonly inboundBuffer: Uint8Array | undefined;
  private readonly outBurst = new EspBurst();
  private readonly inBurst = new EspBurst();
  private readonly outResults: DataPlaneResult[] = [];
  private readonly inResults: DataPlaneResult[] = [];
  /** Per packet of the burst in hand: its EspBurst slot (-1: handled per packet, -2: result final). */
  private burstSlots = new Int32Array(64);
  private readonly burstSas: (SecurityAssociation | undefined)[] = [];

  constructor(opts: DataPlaneOptions) {
    this.spd = opts.spd;
    this.sad = opts.sad;
    this.outputBuffer = opts.outputBuffer;
    this.inboundBuffer = opts.inboundBuffer;
    const d = {} as Record<DropReason, number>;
    for (const r of DROP_REASONS) d[r] = 0;
    this.drops = d;
  }

  /** Next lifetime/rekey event, or undefined. Drain after every call. */
  pollEvent(): DataPlaneEvent | undefined {
    return this.events.shift();
  }

  /** Processes one packet from the TUN device. */
  outbound(now: number, packet: Uint8Array): DataPlaneResult {
    const sa = this.route(now, packet);
    if (!(sa instanceof SecurityAssociation)) return sa;
    const out = this.outputBuffer && this.outputBuffer.length >= packet.length + espOverhead(sa, packet.length) + 60 ? this.outputBuffer : undefined;
    const r = sa.protocol === "esp" ? encapsulate(sa, packet, out) : ahEncapsulate(sa, packet, out);
    if (typeof r === "string") return this.notSent(sa, r);
    this.afterSend(sa);
    return this.toNetwork(sa, r);
  }

  /**
   * Processes `packets[0..count)` from the TUN device as one burst: the same results, in the same
   * order, with the same events and counters as `outbound` called for each packet in turn, but
   * the ESP packets of each SA whose AEAD is on the native addon are sealed with one addon call.
   * Returns the results (index i for packets[i]); the array and the `toNetwork` bytes in it (views
   * into a buffer of this DataPlane) are valid until the next `outboundBurst` call. The packets
   * may be views into the caller's reused read buffer: nothing keeps them after the call.
   */
  outboundBurst(now: number, packets: readonly Uint8Array[], count = packets.length): readonly DataPlaneResult[] {
    const burst = this.outBurst;
    const results = this.outResults;
    const slots = (this.burstSlots = growSlots(this.burstSlots, count));
    const sas = this.burstSas;
    burst.reset();
    for (let i = 0; i < count; i++) {
      const packet = packets[i] as Uint8Array;
      slots[i] = -1;
      const sa = this.route(now, packet);
      if (!(sa instanceof SecurityAssociation)) {
        results[i] = sa;
        continue;
      }
      if (sa.protocol !== "esp") {
        const r = ahEncapsulate(sa, packet);
        results[i] = typeof r === "string" ? this.notSent(sa, r) : this.toNetwork(sa, r);
        if (typeof r !== "string") this.afterSend(sa);
        continue;
      }
      // route() has just peeked this packet into this.selector: no second parse.
      const t = burst.addEncapsulate(sa, packet, this.selector);
      if (typeof t === "string") {
        results[i] = this.notSent(sa, t);
        continue;
      }
      this.afterSend(sa);
      slots[i] = t;
      sas[i] = sa;
    }
    burst.run();
    for (let i = 0; i < count; i++) {
      const t = slots[i] as number;
      if (t < 0) continue;
      const sa = sas[i] as SecurityAssociation;
      sas[i] = undefined;
      results[i] = this.toNetwork(sa, burst.result(t) as Uint8Array);
    }
    results.length = count;
    return results;
  }

  /** SPD, SA and lifetime steps of outbound processing (RFC 4301 s5.1): the SA to apply, or the final result. */
  private route(now: number, packet: Uint8Array): SecurityAssociation | DataPlaneResult {
    const sel = this.selector;
    try {
      peekIp(packet, sel);
    } catch (e) {
      if (isDecodeError(e)) return this.drop("MALFORMED");
      throw e;
    }
    const policy = this.spd.lookup(sel, true);
    if (!policy) return this.drop("NO_POLICY");
    if (policy.action === "DISCARD") return this.drop("POLICY_DISCARD");
    if (policy.action === "BYPASS") return { kind: "bypass", bytes: packet };
    const sa = this.sad.outboundFor(policy.id);
    if (!sa) {
      const copy = newPacketSelector();
      copy.family = sel.family;
      copy.src.set(sel.src);
      copy.dst.set(sel.dst);
      copy.protocol = sel.protocol;
      copy.srcPort = sel.srcPort;
      copy.dstPort = sel.dstPort;
      copy.totalLength = sel.totalLength;
      copy.payloadOffset = sel.payloadOffset;
      copy.nextHeaderFieldOffset = sel.nextHeaderFieldOffset;
      return { kind: "acquire", policy, selector: copy };
    }
    if (!this.account(sa, now, sel.totalLength)) return dropResult(sa.drop("HARD_EXPIRED"));
    return sa;
  }

  /** An outbound packet the SA refused: a counter exhausted asks for a rekey (RFC 4303 s3.3.3). */
  private notSent(sa: SecurityAssociation, r: DropReason): DataPlaneResult {
    if (r === "SEQUENCE_EXHAUSTED" && sa.lifetime.forceSoft()) this.events.push({ kind: "rekeyNeeded", sa, reason: "sequence" });
    return dropResult(r);
  }

  /** After a packet took a sequence number: rekey before the counter runs out. */
  private afterSend(sa: SecurityAssociation): void {
    if (sequenceNearlyExhausted(sa) && sa.lifetime.forceSoft()) this.events.push({ kind: "rekeyNeeded", sa, reason: "sequence" });
  }

  private toNetwork(sa: SecurityAssociation, bytes: Uint8Array): DataPlaneResult {
    return { kind: "toNetwork", bytes, to: sa.peer, encapsulated: sa.udpEncap !== undefined, ipHeaderIncluded: sa.protocol === "ah" };
  }

  /**
   * Processes one packet from the network. `from.port` present: `bytes` is a UDP/4500 payload.
   * `protocol` 51 (no port): `bytes` is a whole IP packet carrying AH. Otherwise an ESP packet.
   */
  inbound(now: number, bytes: Uint8Array, from: Endpoint, protocol: 50 | 51 = 50): DataPlaneResult {
    const sa = this.demux(bytes, from, protocol);
    if (!(sa instanceof SecurityAssociation)) return sa;
    if (sa.lifetime.expired) return dropResult(sa.drop("HARD_EXPIRED"));
    const r = sa.protocol === "esp" ? decapsulate(sa, bytes, this.inboundBuffer) : ahDecapsulate(sa, bytes);
    return this.delivered(sa, now, r);
  }

  /**
   * Processes `datagrams[0..count)` from the network as one burst: the same results, in the same
   * order, with the same events and counters as `inbound(now, datagrams[i], from[i] ?? from,
   * protocol)` for each in turn, but the ESP packets of each SA whose AEAD is on the native addon
   * are opened with one addon call. `from` is one endpoint for all or one per datagram. Returns
   * the results (index i for datagrams[i]); the array and the `toTunnel` bytes (views into a
   * buffer of this DataPlane) are valid until the next `inboundBurst` call; `ike` bytes are views
   * of the caller's datagrams, as with `inbound`. The datagrams may be views into the caller's
   * reused receive buffer: nothing keeps them after the call, and they are not modified.
   */
  inboundBurst(now: number, datagrams: readonly Uint8Array[], from: Endpoint | readonly Endpoint[], count = datagrams.length, protocol: 50 | 51 = 50): readonly DataPlaneResult[] {
    const burst = this.inBurst;
    const results = this.inResults;
    const slots = (this.burstSlots = growSlots(this.burstSlots, count));
    const sas = this.burstSas;
    const many = isEndpointList(from);
    burst.reset();
    for (let i = 0; i < count; i++) {
      const bytes = datagrams[i] as Uint8Array;
      slots[i] = -2;
      const sa = this.demux(bytes, many ? (from[i] as Endpoint) : from, protocol);
      if (!(sa instanceof SecurityAssociation)) {
        results[i] = sa;
        continue;
      }
      sas[i] = sa;
      // An SA past its hard limit, and AH, are handled per packet at their turn below.
      slots[i] = sa.protocol === "esp" && !sa.lifetime.expired ? burst.addDecapsulate(sa, bytes) : -1;
    }
    burst.run();
    for (let i = 0; i < count; i++) {
      const t = slots[i] as number;
      if (t === -2) continue;
      const sa = sas[i] as SecurityAssociation;
      sas[i] = undefined;
      const bytes = datagrams[i] as Uint8Array;
      // An earlier packet of this burst may have taken the SA to its hard limit (removed): NO_SA
      // then, as for a packet that arrives after the removal.
      if (this.sad.lookupInbound(sa.spi) !== sa) {
        results[i] = this.drop("NO_SA");
        continue;
      }
      if (sa.lifetime.expired) {
        results[i] = dropResult(sa.drop("HARD_EXPIRED"));
        continue;
      }
      const r = t >= 0 ? burst.result(t) : sa.protocol === "esp" ? decapsulate(sa, bytes) : ahDecapsulate(sa, bytes);
      results[i] = this.delivered(sa, now, r);
    }
    results.length = count;
    return results;
  }

  /** RFC 3948 demux and SPI -> inbound SA (RFC 4303 s3.4.2): the SA, or the final result. */
  private demux(bytes: Uint8Array, from: Endpoint, protocol: 50 | 51): SecurityAssociation | DataPlaneResult {
    if (from.port !== undefined) {
      let kind: string;
      try {
        kind = classifyUdp4500(bytes).kind;
      } catch (e) {
        if (isDecodeError(e)) return this.drop("MALFORMED");
        throw e;
      }
      if (kind === "ike") return { kind: "ike", bytes: bytes.subarray(4) };
      if (kind === "keepalive") return this.drop("KEEPALIVE");
    }
    let spi: number;
    if (protocol === 51) {
      const sel = this.selector;
      try {
        peekIp(bytes, sel);
      } catch (e) {
        if (isDecodeError(e)) return this.drop("MALFORMED");
        throw e;
      }
      // AH directly after the IPv4 header or the IPv6 base header (what ah.ts produces).
      if (bytes[sel.family === 4 ? 9 : 6] !== 51) return this.drop("MALFORMED");
      const ahAt = sel.family === 4 ? ((bytes[0] as number) & 0x0f) * 4 : 40;
      if (bytes.length < ahAt + 12) return this.drop("MALFORMED");
      spi = readU32(bytes, ahAt + 4);
    } else {
      if (bytes.length < 8) return this.drop("MALFORMED");
      spi = readU32(bytes, 0);
    }
    const sa = this.sad.lookupInbound(spi);
    if (!sa || sa.protocol !== (protocol === 51 ? "ah" : "esp")) return this.drop("NO_SA");
    return sa;
  }

  /** The end of inbound processing: lifetime accounting of a decapsulated packet, then toTunnel. */
  private delivered(sa: SecurityAssociation, now: number, r: Uint8Array | DropReason): DataPlaneResult {
    if (typeof r === "string") return dropResult(r);
    if (!this.account(sa, now, r.length)) return dropResult(sa.drop("HARD_EXPIRED"));
    return { kind: "toTunnel", bytes: r };
  }

  /**
   * Time-driven lifetime checks for SAs that carry no traffic: soft expiry queues `rekeyNeeded`,
   * hard expiry removes the SA and queues `expired`.
   */
  handleTimeout(now: number): void {
    for (const sa of this.sad.all()) this.onLifetime(sa, sa.lifetime.poll(now));
  }

  /** Earliest lifetime deadline (ms) over all SAs, or undefined. */
  nextDeadline(): number | undefined {
    let t: number | undefined;
    for (const sa of this.sad.all()) {
      const d = sa.lifetime.nextDeadline();
      if (d !== undefined && (t === undefined || d < t)) t = d;
    }
    return t;
  }

  private account(sa: SecurityAssociation, now: number, bytes: number): boolean {
    const ev = sa.lifetime.account(now, bytes);
    if (ev === "ok") return true;
    // A hard limit wipes the SA's keys: packets of it already queued in an outbound burst are
    // sealed first, as they would have been one at a time.
    if (ev === "hard") this.outBurst.run();
    this.onLifetime(sa, ev);
    return ev !== "hard";
  }

  private onLifetime(sa: SecurityAssociation, ev: LifetimeEvent): void {
    if (ev === "soft") {
      this.events.push({ kind: "rekeyNeeded", sa, reason: "lifetime" });
    } else if (ev === "hard") {
      if (this.sad.remove(sa)) this.events.push({ kind: "expired", sa });
    }
  }

  private drop(reason: DropReason): DataPlaneResult {
    this.drops[reason]++;
    return dropResult(reason);
  }
}
