import { DecodeError } from "./errors.js";

/**
 * UDP encapsulation of ESP (RFC 3948) and the port-4500 demultiplexer.
 *
 * On UDP/4500 one socket carries three things (RFC 3948 s2.2, s2.3, RFC 7296 s2.23):
 * - a Non-ESP Marker (4 zero bytes, where an ESP SPI can never be 0) followed by an IKE message;
 * - a NAT-keepalive: a single byte 0xFF;
 * - otherwise an ESP packet starting at the SPI (at least SPI + sequence number = 8 bytes).
 */

/** The IKE-over-NAT-T port. */
export const NAT_T_PORT = 4500;
/** Length of the Non-ESP Marker (RFC 3948 s2.2). */
export const NON_ESP_MARKER_LENGTH = 4;
/** UDP header length. */
export const UDP_HEADER_LENGTH = 8;

export type Udp4500Payload =
  /** An IKE message; `offset` is where it starts (after the marker). */
  | { readonly kind: "ike"; readonly offset: number }
  /** A NAT-keepalive (RFC 3948 s2.3): to be dropped by the receiver. */
  | { readonly kind: "keepalive" }
  /** An ESP packet starting at byte 0 (the SPI). */
  | { readonly kind: "esp" };

const IKE: Udp4500Payload = Object.freeze({ kind: "ike", offset: NON_ESP_MARKER_LENGTH });
const KEEPALIVE: Udp4500Payload = Object.freeze({ kind: "keepalive" });
const ESP: Udp4500Payload = Object.freeze({ kind: "esp" });

/**
 * Classifies a UDP/4500 payload (RFC 3948 s2.2/s2.3). Returns shared frozen objects (no allocation).
 * Throws DecodeError for a payload too short to be any of them (empty; 1-7 bytes that are neither a
 * keepalive nor a marker; a marker with nothing after it).
 */
export function classifyUdp4500(payload: Uint8Array): Udp4500Payload {
  const n = payload.length;
  if (n === 1 && payload[0] === 0xff) return KEEPALIVE;
  if (n >= NON_ESP_MARKER_LENGTH && payload[0] === 0 && payload[1] === 0 && payload[2] === 0 && payload[3] === 0) {
    if (n === NON_ESP_MARKER_LENGTH) {
      throw new DecodeError("UDP-ENCAP.nonEspMarker", 0, "Non-ESP Marker without an IKE message");
    }
    return IKE;
  }
  if (n < 8) throw new DecodeError("UDP-ENCAP.esp", 0, `${n} byte(s) is neither a keepalive nor an ESP header`);
  return ESP;
}

/** The NAT-keepalive payload (RFC 3948 s2.3). */
export function natKeepalive(): Uint8Array {
  return Uint8Array.of(0xff);
}

/** Prepends the Non-ESP Marker to an IKE message (RFC 3948 s2.2), as a new array. */
export function encodeNonEspMarked(ike: Uint8Array): Uint8Array {
  const out = new Uint8Array(NON_ESP_MARKER_LENGTH + ike.length);
  out.set(ike, NON_ESP_MARKER_LENGTH);
  return out;
}

/**
 * Writes a UDP header at `offset` with a zero checksum (RFC 3948 s2.1: the checksum SHOULD be
 * transmitted as zero for ESP in UDP over IPv4). `payloadLength` excludes the 8-byte header.
 */
export function encodeUdpHeader(out: Uint8Array, offset: number, srcPort: number, dstPort: number, payloadLength: number): void {
  const len = payloadLength + UDP_HEADER_LENGTH;
  out[offset] = srcPort >>> 8;
  out[offset + 1] = srcPort & 0xff;
  out[offset + 2] = dstPort >>> 8;
  out[offset + 3] = dstPort & 0xff;
  out[offset + 4] = (len >>> 8) & 0xff;
  out[offset + 5] = len & 0xff;
  out[offset + 6] = 0;
  out[offset + 7] = 0;
}

export interface UdpHeader {
  readonly srcPort: number;
  readonly dstPort: number;
  /** UDP Length field: header + payload, bytes. */
  readonly length: number;
  readonly checksum: number;
}

/** Reads a UDP header. Throws DecodeError when shorter than 8 bytes or when Length is < 8 or beyond the buffer. */
export function decodeUdpHeader(b: Uint8Array, base = 0): UdpHeader {
  if (b.length < UDP_HEADER_LENGTH) throw new DecodeError("UDP.header", base, `needs 8 bytes, got ${b.length}`);
  const length = ((b[4] as number) << 8) | (b[5] as number);
  if (length < UDP_HEADER_LENGTH || length > b.length) {
    throw new DecodeError("UDP.length", base + 4, `length ${length} outside 8..${b.length}`);
  }
  return {
    srcPort: ((b[0] as number) << 8) | (b[1] as number),
    dstPort: ((b[2] as number) << 8) | (b[3] as number),
    length,
    checksum: ((b[6] as number) << 8) | (b[7] as number),
  };
}
