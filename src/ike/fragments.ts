/**
 * API
 *   fragmentMessage(p: FragmentParams): Uint8Array[]
 *       { header: IkeHeader, innerPayloads: Payload[] | { firstType, bytes }, keys: SkKeys,
 *         maxMessageSize: number, random: Random }
 *       RFC 7383 s2.5: splits the encoded inner payload chain into SKF fragments, each a whole
 *       IKE message of at most `maxMessageSize` bytes (the UDP payload without the 4-byte non-ESP
 *       marker), each protected on its own. Fragment 1 carries the first inner payload type, the
 *       others 0. Throws RangeError when maxMessageSize leaves no room for data or more than
 *       65535 fragments would be needed (a local configuration error).
 *   maxFragmentData(keys: SkKeys, maxMessageSize: number): number   // plaintext bytes per fragment
 *   class FragmentReassembler(limits?: Partial<ReassemblyLimits>)
 *     handle(bytes: Uint8Array, msg: IkeMessage, keys: SkKeys): ReassemblyResult
 *     reset(): void
 *     readonly bufferedBytes: number
 *   interface ReassemblyLimits { maxFragments: number (default 64); maxBytes: number (default 65536) }
 *   type ReassemblyResult =
 *     | { kind: "incomplete"; messageId; received; total }
 *     | { kind: "complete"; messageId; header; firstType; inner; payloads }
 *     | { kind: "dropped"; messageId; reason: "integrity" | "duplicate" | "stale" | "completed"
 *                        | "limit" | "inconsistent" | "malformed"; detail; fragmentNumber? (set for "completed") }
 *     | { kind: "invalid"; messageId; detail }        // reassembled but the chain does not parse: INVALID_SYNTAX
 *
 * Theory of operation (RFC 7383 s2.6). One reassembler per IKE SA and direction (requests from
 * the peer, responses from the peer). Each fragment's ICV is verified before anything is stored,
 * so an attacker without the keys cannot fill the buffer. Only one message is reassembled at a
 * time: a fragment of a newer message ID discards the partial older one; fragments of older IDs
 * are stale, and authenticated fragments of the message just completed report "completed" with
 * their Fragment Number (s2.6.1: the engine resends its cached response only for fragment 1). Duplicates are ignored. If Total Fragments
 * grows, the sender re-fragmented for a smaller PMTU and reassembly restarts; a smaller Total is
 * discarded (s2.6). Memory is bounded by a maximum fragment count and a maximum buffered
 * byte total; exceeding either drops the whole message.
 */
import type { Random } from "../crypto/random.js";
import { isDecodeError } from "../wire/errors.js";
import { IKE_HEADER_LENGTH } from "../wire/ike/header.js";
import { decodePayloadChain, encodePayloadChain } from "../wire/ike/message.js";
import type { IkeHeader, IkeMessage, Payload } from "../wire/ike/types.js";
import { decryptSkf, encryptSkf, skOverhead, type SkKeys } from "./protection.js";

/** SKF header: generic header (4) + Fragment Number (2) + Total Fragments (2). */
const SKF_HEADER_LENGTH = 8;

/** How many plaintext bytes of the inner chain fit one fragment message of `maxMessageSize` bytes. */
export function maxFragmentData(keys: SkKeys, maxMessageSize: number): number {
  const o = skOverhead(keys);
  // fixed counts the 4-byte SK header and the Pad Length octet; SKF has 4 more header bytes.
  const room = maxMessageSize - IKE_HEADER_LENGTH - (SKF_HEADER_LENGTH - 4) - (o.fixed - 1);
  // The padded plaintext (data + padding + Pad Length) must be a multiple of the block size.
  return Math.floor(room / o.blockSize) * o.blockSize - 1;
}

export interface FragmentParams {
  /** SPIs, exchange type, flags, message ID (the same in every fragment). */
  header: IkeHeader;
  innerPayloads: Payload[] | { firstType: number; bytes: Uint8Array };
  keys: SkKeys;
  /** Largest IKE message (UDP payload minus non-ESP marker) a fragment may be, in bytes. */
  maxMessageSize: number;
  /** Source of the per-fragment IVs. */
  random: Random;
}

/** RFC 7383 s2.5: the SKF fragment messages of one IKE message, fragment 1 first. */
export function fragmentMessage(p: FragmentParams): Uint8Array[] {
  const chain = Array.isArray(p.innerPayloads) ? encodePayloadChain(p.innerPayloads) : p.innerPayloads;
  const per = maxFragmentData(p.keys, p.maxMessageSize);
  if (per < 1) throw new RangeError(`a ${p.maxMessageSize}-byte message leaves no room for fragment data`);
  const total = Math.max(1, Math.ceil(chain.bytes.length / per));
  if (total > 0xffff) throw new RangeError(`${total} fragments needed; Total Fragments is 16 bits`);
  const out: Uint8Array[] = [];
  for (let n = 1; n <= total; n++) {
    out.push(
      encryptSkf({
        header: p.header,
        firstType: n === 1 ? chain.firstType : 0,
        fragmentNumber: n,
        totalFragments: total,
        fragment: chain.bytes.subarray((n - 1) * per, n * per),
        keys: p.keys,
        iv: p.random.bytes(p.keys.encr.alg.ivLength),
      }),
    );
  }
  return out;
}

export interface ReassemblyLimits {
  /** Largest Total Fragments accepted. */
  maxFragments: number;
  /** Largest sum of buffered fragment plaintext, in bytes. */
  maxBytes: number;
}

export type DropReason = "integrity" | "duplicate" | "stale" | "completed" | "limit" | "inconsistent" | "malformed";

export type ReassemblyResult =
  | { kind: "incomplete"; messageId: number; received: number; total: number }
  | { kind: "complete"; messageId: number; header: IkeHeader; firstType: number; inner: Uint8Array; payloads: Payload[] }
  | { kind: "dropped"; messageId: number; reason: DropReason; detail: string; fragmentNumber?: number }
  | { kind: "invalid"; messageId: number; detail: string };

interface PartialMessage {
  messageId: number;
  total: number;
  firstType: number | undefined;
  header: IkeHeader | undefined;
  fragments: Map<number, Uint8Array>;
  bytes: number;
}

const DEFAULT_LIMITS: ReassemblyLimits = { maxFragments: 64, maxBytes: 65536 };

export class FragmentReassembler {
  readonly limits: ReassemblyLimits;
  #current: PartialMessage | undefined;
  #lastCompleted: number | undefined;

  constructor(limits: Partial<ReassemblyLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Bytes of fragment plaintext held right now. */
  get bufferedBytes(): number {
    return this.#current?.bytes ?? 0;
  }

  /** Forgets the partial message (e.g. when the IKE SA is rekeyed or deleted). */
  reset(): void {
    this.#current = undefined;
  }

  /**
   * Takes one received SKF message (`msg` decoded from exactly `bytes`), verified with the peer's
   * direction keys. Never throws for peer input.
   */
  handle(bytes: Uint8Array, msg: IkeMessage, keys: SkKeys): ReassemblyResult {
    const messageId = msg.header.messageId;
    const drop = (reason: DropReason, detail: string): ReassemblyResult => ({ kind: "dropped", messageId, reason, detail });
    // s2.6: authenticate before looking at (or storing) anything.
    const r = decryptSkf(bytes, msg, keys);
    if (!r.ok) return drop(r.reason === "integrity" ? "integrity" : "malformed", r.detail);
    const { fragmentNumber: n, totalFragments: total } = r;
    if (this.#lastCompleted !== undefined && messageId <= this.#lastCompleted) {
      if (messageId === this.#lastCompleted) {
        // s2.6.1: only fragment 1 of a retransmitted request may trigger resending the response.
        return { kind: "dropped", messageId, reason: "completed", detail: `message ${messageId} was already reassembled`, fragmentNumber: n };
      }
      return drop("stale", `message ${messageId} is older than the last reassembled one`);
    }
    const cur = this.#current;
    if (cur && messageId < cur.messageId) return drop("stale", `fragment of message ${messageId} while reassembling ${cur.messageId}`);
    if (total < 1 || n < 1 || n > total) return drop("malformed", `fragment ${n} of ${total}`);
    if (total > this.limits.maxFragments) {
      this.#current = undefined;
      return drop("limit", `${total} fragments exceed the limit of ${this.limits.maxFragments}`);
    }
    let state = cur && cur.messageId === messageId ? cur : undefined;
    if (state && total !== state.total) {
      // s2.6: a larger Total means the sender re-fragmented (smaller PMTU): start over; a smaller one is discarded.
      if (total < state.total) return drop("inconsistent", `Total Fragments ${total} is below the ${state.total} seen before`);
      state = undefined;
    }
    if (!state) {
      state = { messageId, total, firstType: undefined, header: undefined, fragments: new Map(), bytes: 0 };
      this.#current = state;
    }
    if (state.fragments.has(n)) return drop("duplicate", `fragment ${n} of message ${messageId} already received`);
    if (state.bytes + r.fragment.length > this.limits.maxBytes) {
      this.#current = undefined;
      return drop("limit", `reassembly would hold more than ${this.limits.maxBytes} bytes`);
    }
    state.fragments.set(n, r.fragment.slice());
    state.bytes += r.fragment.length;
    if (n === 1) {
      state.firstType = r.firstType;
      state.header = msg.header;
    }
    if (state.fragments.size < state.total) {
      return { kind: "incomplete", messageId, received: state.fragments.size, total: state.total };
    }
    // All of 1..N are present.
    this.#current = undefined;
    this.#lastCompleted = messageId;
    const inner = new Uint8Array(state.bytes);
    let o = 0;
    for (let i = 1; i <= state.total; i++) {
      const f = state.fragments.get(i) as Uint8Array;
      inner.set(f, o);
      o += f.length;
    }
    const firstType = state.firstType as number;
    const header = state.header as IkeHeader;
    try {
      const payloads = decodePayloadChain(firstType, inner, 0);
      return { kind: "complete", messageId, header, firstType, inner, payloads };
    } catch (e) {
      if (isDecodeError(e)) return { kind: "invalid", messageId, detail: `reassembled payloads: ${e.message}` };
      throw e;
    }
  }
}
