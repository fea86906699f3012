/**
 * Message IDs and retransmission for one IKE SA (RFC 7296 s2.1-2.3), window size 1.
 *
 * Theory of operation: the two directions are independent. For requests WE send there is a
 * counter (`nextRequestId`) and at most one outstanding request (window 1), retransmitted with
 * exponential back-off until a response with the same Message ID arrives or the tries run out.
 * For requests the PEER sends there is the next ID we expect and a cache of the last response
 * (every datagram of it, so a fragmented response is resent byte-identical): a retransmitted
 * request is answered from the cache without being processed again (s2.1), older IDs and IDs
 * beyond the window are dropped. A pending request of ours never blocks answering the peer.
 */
import type { Millis, RetransmitConfig } from "./api.js";

/** Our outstanding request: the datagrams as first sent and the back-off state. */
export interface PendingRequest {
  messageId: number;
  exchangeType: number;
  /** Every datagram of the request (one, or the SKF fragments), resent unchanged. */
  packets: Uint8Array[];
  /** Retransmissions done so far (0 after the first send). */
  retransmits: number;
  /** When the current wait ends (retransmit or give up). */
  deadline: Millis;
}

/** How to treat an inbound request's Message ID. */
export type RequestVerdict =
  | { kind: "new" }
  | { kind: "retransmit"; packets: Uint8Array[] }
  /** An ID below the last answered one, or one we never cached a response for. */
  | { kind: "old" }
  /** Beyond the window (s2.3: a window of 1 means only the next ID is accepted). */
  | { kind: "outOfWindow" };

/**
 * Timeout before retransmission `n` (0-based), in milliseconds: `timeoutSeconds * base^n`
 * (strongSwan: 4 s * 1.8^n).
 */
export function retransmitDelay(cfg: RetransmitConfig, n: number): Millis {
  return Math.round(cfg.timeoutSeconds * 1000 * Math.pow(cfg.base, n));
}

export class MessageIds {
  /** The Message ID of the next request we send. */
  nextRequestId: number;
  /** The Message ID we expect on the peer's next request. */
  expectedPeerRequestId: number;
  pending: PendingRequest | undefined;
  /** The response to the peer's last request, for retransmitted copies of that request. */
  lastResponse: { messageId: number; packets: Uint8Array[] } | undefined;

  constructor(nextRequestId = 0, expectedPeerRequestId = 0) {
    this.nextRequestId = nextRequestId;
    this.expectedPeerRequestId = expectedPeerRequestId;
  }

  /** True when no request of ours is outstanding (window 1). */
  get canSend(): boolean {
    return this.pending === undefined;
  }

  /** Records a request we just sent and returns its ID; the caller has built it with `nextRequestId`. */
  sent(now: Millis, exchangeType: number, packets: Uint8Array[], cfg: RetransmitConfig): PendingRequest {
    const p: PendingRequest = {
      messageId: this.nextRequestId,
      exchangeType,
      packets,
      retransmits: 0,
      deadline: now + retransmitDelay(cfg, 0),
    };
    this.nextRequestId = (this.nextRequestId + 1) >>> 0;
    this.pending = p;
    return p;
  }

  /** True when `messageId` answers our outstanding request. */
  isExpectedResponse(messageId: number): boolean {
    return this.pending !== undefined && this.pending.messageId === messageId;
  }

  /** The outstanding request is answered. */
  completed(): void {
    this.pending = undefined;
  }

  /**
   * The back-off timer fired: returns the datagrams to resend, or "giveUp" after `tries`
   * retransmissions went unanswered (s2.4: the peer is then considered dead).
   */
  onTimeout(now: Millis, cfg: RetransmitConfig): Uint8Array[] | "giveUp" | undefined {
    const p = this.pending;
    if (!p || now < p.deadline) return undefined;
    if (p.retransmits >= cfg.tries) return "giveUp";
    p.retransmits += 1;
    p.deadline = now + retransmitDelay(cfg, p.retransmits);
    return p.packets;
  }

  /** Classifies an inbound request's Message ID (s2.3). */
  classifyRequest(messageId: number): RequestVerdict {
    if (messageId === this.expectedPeerRequestId) return { kind: "new" };
    if (this.lastResponse && messageId === this.lastResponse.messageId) {
      return { kind: "retransmit", packets: this.lastResponse.packets };
    }
    // Unsigned 32-bit distance: anything "behind" the expected ID is old.
    const behind = (this.expectedPeerRequestId - messageId) >>> 0;
    return behind > 0 && behind < 0x80000000 ? { kind: "old" } : { kind: "outOfWindow" };
  }

  /** The response to request `messageId` was sent: cache it and advance the window. */
  responded(messageId: number, packets: Uint8Array[]): void {
    this.lastResponse = { messageId, packets };
    this.expectedPeerRequestId = (messageId + 1) >>> 0;
  }
}
