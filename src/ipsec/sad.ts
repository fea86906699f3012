import type { Random } from "../crypto/random.js";
import type { Secret } from "../crypto/secret.js";
import type { EncrAlgorithm, EncrContext, IntegAlgorithm, IntegContext } from "../crypto/types.js";
import { formatIpAddress, newPacketSelector, type IpAddress, type PacketSelector } from "../wire/ip.js";
import { LifetimeTracker, type Lifetime } from "./lifetime.js";
import { ReplayWindow } from "./replay-window.js";
import type { TrafficSelector } from "./selectors.js";

/**
 * Security Association Database (RFC 4301 s4.4.2): outbound SAs found by the SPD policy they serve,
 * inbound SAs by SPI (RFC 4301 s4.1: for unicast SAs the SPI alone identifies the SA).
 *
 * An SA holds its transforms and keyed contexts (keys stay in `Secret`, wiped on removal), mode,
 * outer addresses, optional UDP encapsulation ports, lifetimes, sequence state and counters. The
 * per-packet work lives in `esp.ts`/`ah.ts`; what they need per SA (IV buffer, AAD buffer, a
 * reusable selector) is preallocated here so a packet allocates nothing of its own.
 */

export type SaMode = "tunnel" | "transport";
export type SaDirection = "inbound" | "outbound";
export type SaProtocol = "esp" | "ah";

/** Why a packet was dropped: one counter per reason on every SA (and on the data plane). */
export const DROP_REASONS = [
  "ICV_FAILURE",
  "REPLAY",
  "TOO_OLD",
  "BAD_PADDING",
  "NO_SA",
  "SELECTOR_MISMATCH",
  "MALFORMED",
  "DUMMY",
  "POLICY_DISCARD",
  "NO_POLICY",
  "SEQUENCE_EXHAUSTED",
  "HARD_EXPIRED",
  "KEEPALIVE",
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/**
 * Writes the explicit IV of an outbound packet: `length` bytes at out[offset]. `seqHi`/`seqLo`
 * are the packet's 64-bit sequence number (hi is 0 without ESN).
 */
export interface IvSource {
  fill(out: Uint8Array, offset: number, length: number, seqHi: number, seqLo: number): void;
}

/**
 * Counter IVs for AEAD and CTR (RFC 4106 s3.1, RFC 3686 s3.1, RFC 7634 s2: the IV must never repeat
 * under one key): the 64-bit sequence number, which is unique per SA and never wraps. No randomness
 * per packet.
 */
export const sequenceIv: IvSource = {
  fill(out, offset, length, seqHi, seqLo) {
    out.fill(0, offset, offset + length);
    const o = offset + length - 8;
    if (o >= offset) {
      out[o] = seqHi >>> 24;
      out[o + 1] = (seqHi >>> 16) & 0xff;
      out[o + 2] = (seqHi >>> 8) & 0xff;
      out[o + 3] = seqHi & 0xff;
    }
    const p = offset + length - 4;
    out[p] = seqLo >>> 24;
    out[p + 1] = (seqLo >>> 16) & 0xff;
    out[p + 2] = (seqLo >>> 8) & 0xff;
    out[p + 3] = seqLo & 0xff;
  },
};

/**
 * Unpredictable IVs for CBC (RFC 3602 s2.3, RFC 4303 s3.3.2), drawn from `rng` in blocks of
 * `batch` bytes so a packet costs a copy, not a call into the RNG.
 */
export function randomIv(rng: Random, batch = 4096): IvSource {
  let pool: Uint8Array = new Uint8Array(0);
  let pos = 0;
  return {
    fill(out, offset, length) {
      if (pos + length > pool.length) {
        pool = rng.bytes(Math.max(batch, length));
        pos = 0;
      }
      out.set(pool.subarray(pos, pos + length), offset);
      pool.fill(0, pos, pos + length); // an IV is used once; do not keep it around
      pos += length;
    },
  };
}

/** A fixed IV, for known-answer tests only (never reuse an IV with real traffic). */
export function dangerFixedIv(iv: Uint8Array): IvSource {
  return {
    fill(out, offset, length) {
      out.set(iv.subarray(0, length), offset);
    },
  };
}

export interface UdpEncapsulation {
  readonly localPort: number;
  readonly remotePort: number;
}

export interface SaParams {
  readonly spi: number;
  readonly direction: SaDirection;
  /** Default "esp". */
  readonly protocol?: SaProtocol;
  readonly mode: SaMode;
  /** ESP cipher (required for ESP; may be ENCR_NULL). */
  readonly encr?: EncrAlgorithm;
  /** KEYMAT for `encr` (key || salt). */
  readonly encrKey?: Secret;
  /** Integrity (required for AH and for non-AEAD ESP unless encryption-only is really meant). */
  readonly integ?: IntegAlgorithm;
  readonly integKey?: Secret;
  /** Extended Sequence Numbers (RFC 4303 s2.2.1). */
  readonly esn?: boolean;
  /** Inbound anti-replay window in packets (default 64, 32..2^20); `antiReplay: false` turns checks off. */
  readonly replayWindow?: number;
  readonly antiReplay?: boolean;
  /** Our outer address (tunnel endpoint, or our address in transport mode): 4 or 16 bytes. */
  readonly local: IpAddress;
  /** The peer's outer address. */
  readonly remote: IpAddress;
  /** ESP in UDP (RFC 3948). */
  readonly udpEncap?: UdpEncapsulation;
  /**
   * NAT-OA (RFC 3948 s3.1.2, RFC 7296 s2.23): the original addresses the peer used when it
   * computed transport-mode TCP/UDP checksums; inbound transport packets get their checksum fixed
   * for the addresses this SA rebuilds the IP header with.
   */
  readonly natOriginal?: { readonly local: IpAddress; readonly remote: IpAddress };
  /** What traffic the SA may carry (RFC 4301 s5.2 checks inbound packets against it). */
  readonly selectors?: readonly TrafficSelector[];
  readonly lifetime?: Lifetime;
  /** TFC padding (RFC 4303 s2.7): tunnel-mode inner packets are padded to this many bytes. */
  readonly tfcPadTo?: number;
  /** For CBC (and other random-IV ciphers) on outbound SAs. */
  readonly random?: Random;
  /** Overrides the IV source (tests with known-answer vectors). */
  readonly ivSource?: IvSource;
  /**
   * Outbound: the last sequence number already used (next is one more). Inbound: the initial top
   * of the replay window. Default 0.
   */
  readonly initialSequence?: { readonly hi: number; readonly lo: number };
  /** SPD policy this SA serves (outbound). */
  readonly policyId?: number;
  /** Creation time, ms (lifetimes count from here). */
  readonly now: number;
}

export interface SaCounters {
  bytes: number;
  packets: number;
  drops: Record<DropReason, number>;
}

function zeroDrops(): Record<DropReason, number> {
  const d = {} as Record<DropReason, number>;
  for (const r of DROP_REASONS) d[r] = 0;
  return d;
}

export class SecurityAssociation {
  readonly spi: number;
  readonly direction: SaDirection;
  readonly protocol: SaProtocol;
  readonly mode: SaMode;
  readonly esn: boolean;
  readonly encr: EncrAlgorithm | undefined;
  readonly integ: IntegAlgorithm | undefined;
  readonly encrContext: EncrContext | undefined;
  readonly integContext: IntegContext | undefined;
  readonly local: IpAddress;
  readonly remote: IpAddress;
  readonly family: 4 | 6;
  readonly udpEncap: UdpEncapsulation | undefined;
  readonly natOriginal: { readonly local: IpAddress; readonly remote: IpAddress } | undefined;
  readonly selectors: readonly TrafficSelector[];
  readonly tfcPadTo: number;
  readonly ivSource: IvSource;
  readonly policyId: number | undefined;
  readonly lifetime: LifetimeTracker;
  readonly replay: ReplayWindow | undefined;
  readonly antiReplay: boolean;
  readonly counters: SaCounters = { bytes: 0, packets: 0, drops: zeroDrops() };
  /** Where outbound packets go: preformatted once, so the per-packet path does no string work. */
  readonly peer: { readonly address: string; readonly port?: number };
  /** Outbound sequence state: the last number used, as two u32 halves. */
  seqHi: number;
  seqLo: number;
  /** Set once the sequence counter cannot advance (RFC 4303 s3.3.3): no more packets. */
  exhausted = false;
  /** Per-SA scratch, preallocated. */
  readonly ivBuffer: Uint8Array;
  /** `ivBuffer` cut to the cipher's IV length (a view made once, not per packet). */
  readonly iv: Uint8Array;
  readonly aad: Uint8Array;
  readonly seqHiBytes: Uint8Array;
  readonly selectorScratch: PacketSelector = newPacketSelector();
  private readonly keys: Secret[] = [];

  constructor(p: SaParams) {
    this.spi = p.spi >>> 0;
    this.direction = p.direction;
    this.protocol = p.protocol ?? "esp";
    this.mode = p.mode;
    this.esn = p.esn ?? false;
    if (p.local.length !== p.remote.length || (p.local.length !== 4 && p.local.length !== 16)) {
      throw new RangeError("SA outer addresses must both be IPv4 or both IPv6");
    }
    this.local = p.local;
    this.remote = p.remote;
    this.family = p.local.length === 4 ? 4 : 6;
    this.udpEncap = p.udpEncap;
    this.natOriginal = p.natOriginal;
    this.selectors = p.selectors ?? [];
    this.tfcPadTo = p.tfcPadTo ?? 0;
    this.policyId = p.policyId;
    this.lifetime = new LifetimeTracker(p.lifetime ?? {}, p.now);
    this.antiReplay = p.antiReplay ?? true;
    this.seqHi = this.esn ? (p.initialSequence?.hi ?? 0) : 0;
    this.seqLo = p.initialSequence?.lo ?? 0;
    if (this.protocol === "esp") {
      if (!p.encr || !p.encrKey) throw new RangeError("an ESP SA needs an ENCR transform and its KEYMAT");
      this.encr = p.encr;
      this.encrContext = p.encr.create(p.encrKey);
      this.keys.push(p.encrKey);
      if (p.encr.aead && p.integ) throw new RangeError("an AEAD cipher takes no separate INTEG transform (RFC 7296 s3.3)");
    } else {
      if (!p.integ) throw new RangeError("an AH SA needs an INTEG transform");
    }
    if (p.integ) {
      if (!p.integKey) throw new RangeError("INTEG transform without a key");
      this.integ = p.integ;
      this.integContext = p.integ.create(p.integKey);
      this.keys.push(p.integKey);
    }
    const ivLength = this.encr?.ivLength ?? 0;
    this.ivBuffer = new Uint8Array(Math.max(ivLength, 1));
    this.iv = this.ivBuffer.subarray(0, ivLength);
    this.aad = new Uint8Array(this.esn ? 12 : 8);
    this.seqHiBytes = new Uint8Array(4);
    if (p.ivSource) {
      this.ivSource = p.ivSource;
    } else if (this.encr && !this.encr.aead && this.encr.blockSize > 1 && this.encr.ivLength === this.encr.blockSize) {
      // CBC-like: the IV must be unpredictable (RFC 3602 s2.3), so it comes from the injected Random.
      if (!p.random && p.direction === "outbound") throw new RangeError(`${this.encr.name} needs a Random for its IVs`);
      this.ivSource = p.random ? randomIv(p.random) : sequenceIv;
    } else {
      this.ivSource = sequenceIv;
    }
    this.replay = p.direction === "inbound" ? new ReplayWindow(p.replayWindow ?? 64, this.esn, p.initialSequence) : undefined;
    const port = p.udpEncap?.remotePort;
    this.peer = port === undefined ? { address: formatIpAddress(p.remote) } : { address: formatIpAddress(p.remote), port };
  }

  /** Counts a dropped packet; returns the reason for chaining. */
  drop(reason: DropReason): DropReason {
    this.counters.drops[reason]++;
    return reason;
  }

  /** Zeroes the keys (design.md rule 9). The SA must not be used afterwards. */
  wipe(): void {
    for (const k of this.keys) k.wipe();
    // A native context keeps its own copy of the key inside OpenSSL: erase it now, not at GC.
    this.encrContext?.dispose?.();
  }
}

/** The SAD: inbound by SPI, outbound by policy id. */
export class Sad {
  private readonly inbound = new Map<number, SecurityAssociation>();
  private readonly outbound = new Map<number, SecurityAssociation>();

  /** Installs an inbound SA. Throws RangeError when its SPI is already in use (caller's invariant). */
  addInbound(sa: SecurityAssociation): void {
    if (sa.direction !== "inbound") throw new RangeError("not an inbound SA");
    if (this.inbound.has(sa.spi)) throw new RangeError(`inbound SPI ${sa.spi.toString(16)} already installed`);
    this.inbound.set(sa.spi, sa);
  }

  /** Installs (or replaces, make-before-break on rekey) the outbound SA for `policyId`; returns the old one. */
  addOutbound(policyId: number, sa: SecurityAssociation): SecurityAssociation | undefined {
    if (sa.direction !== "outbound") throw new RangeError("not an outbound SA");
    const old = this.outbound.get(policyId);
    this.outbound.set(policyId, sa);
    return old;
  }

  lookupInbound(spi: number): SecurityAssociation | undefined {
    return this.inbound.get(spi);
  }

  outboundFor(policyId: number): SecurityAssociation | undefined {
    return this.outbound.get(policyId);
  }

  /** Removes an SA (either direction) and wipes its keys; true when it was installed. */
  remove(sa: SecurityAssociation): boolean {
    let found = false;
    if (sa.direction === "inbound") {
      if (this.inbound.get(sa.spi) === sa) {
        this.inbound.delete(sa.spi);
        found = true;
      }
    } else {
      for (const [pid, s] of this.outbound) {
        if (s === sa) {
          this.outbound.delete(pid);
          found = true;
        }
      }
    }
    if (found) sa.wipe();
    return found;
  }

  /** Every installed SA. */
  all(): SecurityAssociation[] {
    return [...this.inbound.values(), ...this.outbound.values()];
  }
}
