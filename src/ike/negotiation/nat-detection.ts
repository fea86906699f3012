/**
 * API
 *   natDetectionHash(spiI: bigint, spiR: bigint, address: string | Uint8Array, port: number): Uint8Array
 *       RFC 7296 s2.23: SHA-1(SPIi | SPIr | IP | Port), 20 bytes; SPIs 8 bytes each, port 2 bytes.
 *   natDetectionPayloadData(spiI, spiR, local: Endpoint, remote: Endpoint): { source: Uint8Array; destination: Uint8Array }
 *       Notification Data for NAT_DETECTION_SOURCE_IP (our address) and _DESTINATION_IP (the peer's).
 *   checkNatDetection(received: { sourceHashes: Uint8Array[]; destinationHashes: Uint8Array[] },
 *                     actual: { spiI: bigint; spiR: bigint; local: Endpoint; remote: Endpoint }): NatDetectionResult
 *       -> { supported, localBehindNat, remoteBehindNat }
 *   interface Endpoint { address: string | Uint8Array; port: number }
 *
 * The hashes let each side see whether the addresses and ports changed in transit. The
 * receiver compares the peer's NAT_DETECTION_SOURCE_IP hashes (the peer may send several, one per
 * local address, s2.23) with the hash of the source address/port the packet actually came from:
 * no match means the peer is behind a NAT. It compares NAT_DETECTION_DESTINATION_IP with the
 * hash of the address/port the packet arrived on: no match means we are behind a NAT (and must
 * send keepalives, RFC 3948 s4). Either case moves IKE to port 4500 and ESP into UDP.
 */
import { createHash } from "node:crypto";
import { parseIpAddress } from "../../wire/ip.js";
import { constantTimeEqual } from "../../crypto/compare.js";

export interface Endpoint {
  /** IPv4/IPv6 text or 4/16 bytes. */
  address: string | Uint8Array;
  /** UDP port. */
  port: number;
}

export interface NatDetectionResult {
  /** False when the peer sent no NAT_DETECTION_* notifies (NAT-T not supported by the peer). */
  supported: boolean;
  /** Our address/port was changed on the way (we are behind a NAT: send keepalives). */
  localBehindNat: boolean;
  /** The peer's address/port was changed on the way. */
  remoteBehindNat: boolean;
}

/** SHA-1(SPIi | SPIr | IP | Port) (RFC 7296 s2.23); SHA-1 is what the RFC fixes here, not a choice. */
export function natDetectionHash(spiI: bigint, spiR: bigint, address: string | Uint8Array, port: number): Uint8Array {
  const ip = typeof address === "string" ? parseIpAddress(address, "NAT detection address") : address;
  // One buffer, one update: a responder hashes four of these per IKE_SA_INIT.
  const input = new Uint8Array(18 + ip.length);
  const view = new DataView(input.buffer);
  view.setBigUint64(0, BigInt.asUintN(64, spiI));
  view.setBigUint64(8, BigInt.asUintN(64, spiR));
  input.set(ip, 16);
  view.setUint16(16 + ip.length, port & 0xffff);
  const h = createHash("sha1").update(input).digest();
  return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
}

/** Notification Data for the two NAT detection notifies we send. */
export function natDetectionPayloadData(
  spiI: bigint,
  spiR: bigint,
  local: Endpoint,
  remote: Endpoint,
): { source: Uint8Array; destination: Uint8Array } {
  return {
    source: natDetectionHash(spiI, spiR, local.address, local.port),
    destination: natDetectionHash(spiI, spiR, remote.address, remote.port),
  };
}

/**
 * Evaluates the peer's NAT detection notifies against the addresses of the packet that carried
 * them: `local` is where it arrived, `remote` where it came from.
 */
export function checkNatDetection(
  received: { sourceHashes: readonly Uint8Array[]; destinationHashes: readonly Uint8Array[] },
  actual: { spiI: bigint; spiR: bigint; local: Endpoint; remote: Endpoint },
): NatDetectionResult {
  if (received.sourceHashes.length === 0 && received.destinationHashes.length === 0) {
    return { supported: false, localBehindNat: false, remoteBehindNat: false };
  }
  const src = natDetectionHash(actual.spiI, actual.spiR, actual.remote.address, actual.remote.port);
  const dst = natDetectionHash(actual.spiI, actual.spiR, actual.local.address, actual.local.port);
  const remoteBehindNat = received.sourceHashes.length > 0 && !received.sourceHashes.some((h) => constantTimeEqual(h, src));
  const localBehindNat = received.destinationHashes.length > 0 && !received.destinationHashes.some((h) => constantTimeEqual(h, dst));
  return { supported: true, localBehindNat, remoteBehindNat };
}
