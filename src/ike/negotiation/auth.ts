/**
 * API
 *   idPayloadBody(idType: number, data: Uint8Array, reserved?: Uint8Array): Uint8Array
 *       RestOfIDPayload (RFC 7296 s2.15): ID Type (1) | RESERVED (3) | Identification Data.
 *   signedOctets(realMessage: Uint8Array, peerNonce: Uint8Array, prf: PrfAlgorithm, skP: Secret,
 *                idPayloadBody: Uint8Array): Uint8Array
 *       InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI (s2.15), where
 *       MACedIDForI = prf(SK_pi, RestOfInitIDPayload); symmetric for the responder.
 *   pskAuthData(prf: PrfAlgorithm, psk: Secret, signedOctets: Uint8Array): Uint8Array
 *       AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>) (s2.15).
 *   verifyPskAuth(prf, psk: Secret, signedOctets, received: Uint8Array): boolean   (constant time)
 *   interface Identity { type: number; data: Uint8Array }
 *   encodeIdentity(id: string, type?: number): Identity      // throws IdentityError on bad config text
 *   parseIdentity(type: number, data: Uint8Array): Identity | IkeError   // peer input: never throws
 *   formatIdentity(id: Identity): string
 *   identitiesEqual(a: Identity, b: Identity): boolean
 *   class IdentityError extends Error
 *
 * Identities from configuration are typed automatically as strongSwan does: an IPv4/IPv6 literal
 * is ID_IPV4_ADDR/ID_IPV6_ADDR, text with an "@" inside is ID_RFC822_ADDR, "@name" forces
 * ID_FQDN, "@#hex" and "keyid:..." are ID_KEY_ID, anything else is ID_FQDN. Explicit prefixes
 * "fqdn:", "email:"/"rfc822:", "ipv4:", "ipv6:" override the guess.
 */
import { constantTimeEqual } from "../../crypto/compare.js";
import type { Secret } from "../../crypto/secret.js";
import type { PrfAlgorithm } from "../../crypto/types.js";
import { IdType, NotifyType, idTypeName } from "../../wire/ike/constants.js";
import { concat, fromHex, toHex } from "../../wire/hex.js";
import { formatIpAddress, parseIpAddress } from "../../wire/ip.js";
import { ikeError, type IkeError } from "../errors.js";

/** RFC 7296 s2.15: the fixed pad string for shared-key AUTH. */
const KEY_PAD = new TextEncoder().encode("Key Pad for IKEv2");

/** ID Type | 3 reserved octets | Identification Data: the part of the ID payload the prf covers. */
export function idPayloadBody(idType: number, data: Uint8Array, reserved: Uint8Array = new Uint8Array(3)): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  out[0] = idType;
  out.set(reserved.subarray(0, 3), 1);
  out.set(data, 4);
  return out;
}

/**
 * The octets an AUTH value covers (s2.15): our whole first message as sent (RealMessage, IKE
 * header included), the peer's nonce data, and prf(SK_px, RestOfIDPayload) where SK_px is SK_pi
 * for the initiator and SK_pr for the responder.
 */
export function signedOctets(
  realMessage: Uint8Array,
  peerNonce: Uint8Array,
  prf: PrfAlgorithm,
  skP: Secret,
  idBody: Uint8Array,
): Uint8Array {
  return concat(realMessage, peerNonce, prf.compute(skP.expose(), idBody));
}

/**
 * prf(Shared Secret, "Key Pad for IKEv2") per PSK and PRF id: a function of the configured key
 * alone, so it is computed once rather than for every AUTH (two of a responder's PRF calls per
 * setup). Keyed by the Secret object (a reload brings new ones; the old entries go with them).
 * A wiped PSK is never looked up: `expose()` throws first, as it did before the cache.
 */
const keyPadCache = new WeakMap<Secret, Map<number, Uint8Array>>();

function paddedKey(prf: PrfAlgorithm, psk: Secret): Uint8Array {
  const bytes = psk.expose();
  let byPrf = keyPadCache.get(psk);
  if (byPrf === undefined) keyPadCache.set(psk, (byPrf = new Map()));
  let k = byPrf.get(prf.id);
  if (k === undefined) byPrf.set(prf.id, (k = prf.compute(bytes, KEY_PAD)));
  return k;
}

/** Shared Key Message Integrity Code AUTH data (s2.15, auth method 2). */
export function pskAuthData(prf: PrfAlgorithm, psk: Secret, signed: Uint8Array): Uint8Array {
  return prf.compute(paddedKey(prf, psk), signed);
}

/** Checks a received shared-key AUTH value in constant time. */
export function verifyPskAuth(prf: PrfAlgorithm, psk: Secret, signed: Uint8Array, received: Uint8Array): boolean {
  return constantTimeEqual(pskAuthData(prf, psk, signed), received);
}

// ---------------------------------------------------------------------------------------------
// Identities (s3.5)

export interface Identity {
  /** IdType: ID_IPV4_ADDR 1, ID_FQDN 2, ID_RFC822_ADDR 3, ID_IPV6_ADDR 5, ID_KEY_ID 11, ... */
  type: number;
  data: Uint8Array;
}

/** A configuration identity string that cannot be encoded. */
export class IdentityError extends Error {
  override readonly name = "IdentityError";
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** What parseIpAddress can accept at all: dotted digits, or hex groups and colons. */
const IP_LITERAL_CHARS = /^(?:[0-9.]+|[0-9a-fA-F:]+)$/;

function tryIp(text: string): Uint8Array | undefined {
  // Host names (the common identity) fail here without building a DecodeError and its stack:
  // that was 1-4% of an IKE responder's CPU (docs/performance.md).
  if (!IP_LITERAL_CHARS.test(text)) return undefined;
  try {
    return parseIpAddress(text, "identity");
  } catch {
    return undefined;
  }
}

function keyId(text: string): Identity {
  if (text.startsWith("#")) {
    try {
      return { type: IdType.ID_KEY_ID, data: fromHex(text.slice(1)) };
    } catch {
      throw new IdentityError(`'${text}' is not hex after '#': write a key id as @#0123abcd or keyid:#0123abcd`);
    }
  }
  return { type: IdType.ID_KEY_ID, data: utf8.encode(text) };
}

/**
 * Encodes a configured identity. With `type`, the string is encoded as that type (IP literals for
 * the address types, hex after '#' or raw text for ID_KEY_ID, text otherwise); without, the type
 * is guessed as strongSwan does. Throws IdentityError with what to write instead.
 */
export function encodeIdentity(id: string, type?: number): Identity {
  if (id.length === 0) throw new IdentityError("empty identity: use an IP address, a host name, user@domain or @#hex");
  if (type !== undefined) {
    switch (type) {
      case IdType.ID_IPV4_ADDR:
      case IdType.ID_IPV6_ADDR: {
        const ip = tryIp(id);
        const want = type === IdType.ID_IPV4_ADDR ? 4 : 16;
        if (!ip || ip.length !== want) throw new IdentityError(`'${id}' is not an ${want === 4 ? "IPv4" : "IPv6"} address`);
        return { type, data: ip };
      }
      case IdType.ID_KEY_ID:
        return keyId(id);
      case IdType.ID_FQDN:
      case IdType.ID_RFC822_ADDR:
        return { type, data: utf8.encode(id) };
      default:
        throw new IdentityError(`identity type ${idTypeName(type)} cannot be written as text here; use an IP address, FQDN, user@domain or key id`);
    }
  }
  const prefixed = /^(fqdn|email|rfc822|ipv4|ipv6|keyid):(.*)$/i.exec(id);
  if (prefixed) {
    const rest = prefixed[2] as string;
    switch ((prefixed[1] as string).toLowerCase()) {
      case "fqdn":
        return encodeIdentity(rest, IdType.ID_FQDN);
      case "email":
      case "rfc822":
        return encodeIdentity(rest, IdType.ID_RFC822_ADDR);
      case "ipv4":
        return encodeIdentity(rest, IdType.ID_IPV4_ADDR);
      case "ipv6":
        return encodeIdentity(rest, IdType.ID_IPV6_ADDR);
      default:
        return keyId(rest);
    }
  }
  if (id.startsWith("@#")) return keyId(id.slice(1));
  if (id.startsWith("@")) return { type: IdType.ID_FQDN, data: utf8.encode(id.slice(1)) };
  const ip = tryIp(id);
  if (ip) return { type: ip.length === 4 ? IdType.ID_IPV4_ADDR : IdType.ID_IPV6_ADDR, data: ip };
  if (id.includes("@")) return { type: IdType.ID_RFC822_ADDR, data: utf8.encode(id) };
  if (id.includes("=")) {
    throw new IdentityError(`'${id}' looks like a distinguished name (ID_DER_ASN1_DN), which is not supported yet; use an FQDN, user@domain, IP address or @#keyid`);
  }
  return { type: IdType.ID_FQDN, data: utf8.encode(id) };
}

/**
 * Validates a received ID payload's content (s3.5). Address types must have 4/16 bytes; text
 * types must be non-empty. Returns an IkeError (AUTHENTICATION_FAILED is what the peer is told,
 * s2.21.2) instead of throwing.
 */
export function parseIdentity(type: number, data: Uint8Array): Identity | IkeError {
  const bad = (why: string): IkeError =>
    ikeError(NotifyType.AUTHENTICATION_FAILED, `peer identity of type ${idTypeName(type)} is malformed: ${why}`, "peer");
  switch (type) {
    case IdType.ID_IPV4_ADDR:
      if (data.length !== 4) return bad(`${data.length} bytes instead of 4`);
      break;
    case IdType.ID_IPV6_ADDR:
      if (data.length !== 16) return bad(`${data.length} bytes instead of 16`);
      break;
    case IdType.ID_NULL:
      break;
    default:
      if (data.length === 0) return bad("empty identification data");
  }
  return { type, data: data.slice() };
}

function printable(data: Uint8Array): string | undefined {
  try {
    const s = utf8Strict.decode(data);
    // eslint-disable-next-line no-control-regex
    return /^[^\u0000-\u001f\u007f]*$/.test(s) ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Operator text: `192.0.2.1`, `gw.example.com`, `user@example.com`, `@#0123ab` (or the key id text). */
export function formatIdentity(id: Identity): string {
  switch (id.type) {
    case IdType.ID_IPV4_ADDR:
    case IdType.ID_IPV6_ADDR:
      if (id.data.length === 4 || id.data.length === 16) return formatIpAddress(id.data);
      return `${idTypeName(id.type)}:#${toHex(id.data)}`;
    case IdType.ID_FQDN:
    case IdType.ID_RFC822_ADDR:
      return printable(id.data) ?? `${idTypeName(id.type)}:#${toHex(id.data)}`;
    case IdType.ID_KEY_ID: {
      const p = printable(id.data);
      return p !== undefined && p.length > 0 ? `keyid:${p}` : `@#${toHex(id.data)}`;
    }
    case IdType.ID_NULL:
      return "%null";
    default:
      return `${idTypeName(id.type)}:#${toHex(id.data)}`;
  }
}

export function identitiesEqual(a: Identity, b: Identity): boolean {
  if (a.type !== b.type || a.data.length !== b.data.length) return false;
  // Host names compare case-insensitively (DNS, RFC 4343), the rest byte for byte.
  if (a.type === IdType.ID_FQDN) {
    const x = printable(a.data);
    const y = printable(b.data);
    if (x !== undefined && y !== undefined) return x.toLowerCase() === y.toLowerCase();
  }
  return a.data.every((v, i) => v === b.data[i]);
}
