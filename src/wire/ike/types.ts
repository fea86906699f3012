/**
 * The typed model of IKEv2 messages (RFC 7296 s3, RFC 7383 s2.5). Decoders produce these plain
 * objects and encoders consume them; `encode(decode(x))` is byte-identical for valid `x`.
 *
 * Numeric codepoints are plain numbers (see constants.ts for the open tables). 64-bit SPIs are
 * `bigint` (design.md style rule 3). Every byte string is a fresh `Uint8Array` (never aliasing the
 * input buffer).
 */

/** The fixed 28-byte IKE header (RFC 7296 s3.1). */
export interface IkeHeader {
  /** IKE SA Initiator's SPI (8 bytes). */
  spiI: bigint;
  /** IKE SA Responder's SPI (8 bytes); 0n in the first IKE_SA_INIT request. */
  spiR: bigint;
  /** Type of the first payload (PayloadType). */
  nextPayload: number;
  /** Major version in the high nibble, minor in the low (0x20 for IKEv2). */
  version: number;
  /** ExchangeType. */
  exchangeType: number;
  /** Raw flags octet (HeaderFlag bits: I 0x08, V 0x10, R 0x20); unknown bits are kept. */
  flags: number;
  /** Message ID (32 bits, unsigned). */
  messageId: number;
  /** Total message length in bytes, header included. */
  length: number;
}

/** Data attribute in a transform (RFC 7296 s3.3.5); TV format when `af` is set. */
export type TransformAttribute =
  | { type: number; format: "tv"; value: number }
  | { type: number; format: "tlv"; value: Uint8Array };

/** One transform substructure (RFC 7296 s3.3.2). */
export interface Transform {
  /** TransformType (ENCR 1, PRF 2, INTEG 3, KE 4, ESN 5). */
  type: number;
  /** Transform ID within its type. */
  id: number;
  attributes: TransformAttribute[];
}

/** One proposal substructure (RFC 7296 s3.3.1). */
export interface Proposal {
  /** Proposal Num, 1-based, as sent (responder echoes the chosen one's number). */
  number: number;
  /** ProtocolId: IKE 1, AH 2, ESP 3. */
  protocol: number;
  /** SPI: 8 bytes for IKE (in IKE_SA_INIT it is empty), 4 bytes for AH/ESP. */
  spi: Uint8Array;
  transforms: Transform[];
}

/** Traffic selector (RFC 7296 s3.13.1). */
export interface TrafficSelector {
  /** TsType: TS_IPV4_ADDR_RANGE 7, TS_IPV6_ADDR_RANGE 8, or another type kept as raw bytes. */
  type: number;
  /** IP protocol, 0 = any. */
  ipProtocol: number;
  /** Ports 0..65535 (for ICMP: type in the high byte, code in the low byte, RFC 4301 s4.4.1.1). */
  startPort: number;
  endPort: number;
  /** Start and end address, 4 bytes (IPv4) or 16 bytes (IPv6); for unknown types, the raw rest. */
  startAddress: Uint8Array;
  endAddress: Uint8Array;
}

/** CP attribute (RFC 7296 s3.15.1). */
export interface CfgAttributeValue {
  type: number;
  value: Uint8Array;
}

/**
 * Every payload, discriminated by `type`. `critical` is the C bit as received (RFC 7296 s3.2:
 * a sender MUST set it to 0 for payloads defined in RFC 7296, but it is kept for byte-exact
 * round trips). `unknown` holds payloads of a type this codec does not know, as raw bytes.
 */
export type Payload =
  | { type: 33; critical: boolean; proposals: Proposal[] } // SA
  | { type: 34; critical: boolean; group: number; reserved: number; keyData: Uint8Array } // KE
  | { type: 35 | 36; critical: boolean; idType: number; reserved: Uint8Array; data: Uint8Array } // IDi/IDr (reserved: 3 bytes)
  | { type: 37; critical: boolean; encoding: number; data: Uint8Array } // CERT
  | { type: 38; critical: boolean; encoding: number; data: Uint8Array } // CERTREQ
  | { type: 39; critical: boolean; method: number; reserved: Uint8Array; data: Uint8Array } // AUTH (reserved: 3 bytes)
  | { type: 40; critical: boolean; nonce: Uint8Array } // Ni/Nr
  | { type: 41; critical: boolean; protocol: number; notifyType: number; spi: Uint8Array; data: Uint8Array } // N
  | { type: 42; critical: boolean; protocol: number; spiSize: number; spis: Uint8Array[] } // D
  | { type: 43; critical: boolean; data: Uint8Array } // V
  | { type: 44 | 45; critical: boolean; selectors: TrafficSelector[]; reserved: Uint8Array } // TSi/TSr (reserved: 3 bytes)
  | { type: 46; critical: boolean; firstInner: number; encrypted: Uint8Array } // SK: IV || ciphertext || padding || ICV, opaque here
  | { type: 47; critical: boolean; cfgType: number; reserved: Uint8Array; attributes: CfgAttributeValue[] } // CP (reserved: 3 bytes)
  | { type: 48; critical: boolean; data: Uint8Array } // EAP: the whole EAP message
  | { type: 53; critical: boolean; firstInner: number; fragmentNumber: number; totalFragments: number; encrypted: Uint8Array } // SKF (RFC 7383 s2.5)
  | { type: "unknown"; payloadType: number; critical: boolean; body: Uint8Array };

/** A payload of a given PayloadType number. */
export type PayloadOf<T extends Payload["type"]> = Extract<Payload, { type: T }>;

/** A whole IKE message with a decoded (unencrypted) payload chain. */
export interface IkeMessage {
  header: IkeHeader;
  payloads: Payload[];
}
