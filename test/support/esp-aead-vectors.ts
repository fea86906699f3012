/**
 * The AEAD ESP packet vectors of shared/vectors/esp (draft-mcgrew-gcm-test-01 AES-GCM, RFC 7634
 * Appendix A ChaCha20-Poly1305) and the SAs that reproduce them, shared by the pure-path vector
 * tests (test/vectors/esp-aead.test.ts) and the native-path tests (test/crypto/native.test.ts):
 * the same SA, only the ENCR transform differs.
 */
import { getEncr } from "../../src/crypto/encr.js";
import { Secret } from "../../src/crypto/secret.js";
import type { EncrAlgorithm } from "../../src/crypto/types.js";
import { dangerFixedIv, SecurityAssociation } from "../../src/ipsec/sad.js";
import { fromHex } from "../../src/wire/hex.js";
import { parseIpAddress } from "../../src/wire/ip.js";
import { readJson } from "../ipsec/support.js";

export interface GcmCase {
  id: string;
  aes_key_bits: string;
  keymat_ike: string;
  spi: string;
  esn: boolean;
  seq_hi: string | null;
  seq_lo: string;
  iv: string;
  plaintext: string;
  plaintext_pad_length: string;
  plaintext_next_header: string;
  expected_esp_packet: string;
}

export interface ChaChaCase {
  id: string;
  keymat: string;
  spi: string;
  seq: string;
  iv: string;
  inner_ip_packet: string;
  pad_length: string;
  next_header: string;
  expected_esp_packet: string;
}

export interface Aead7539 {
  id: string;
  key: string;
  nonce: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
}

export const gcmVectors = readJson<{ vectors: GcmCase[] }>("esp/draft-mcgrew-gcm-test-01-aes-gcm-esp.json").vectors;
export const chachaFile = readJson<{ vectors: ChaChaCase[]; underlying_rfc7539_aead_vectors: Aead7539[] }>("esp/rfc7634-chacha20-poly1305-esp.json");

export interface VectorSaOptions {
  /** The ENCR transform (default: the pure one for the vector). */
  encr?: (pure: EncrAlgorithm) => EncrAlgorithm;
  /** Override the vector's ESN flag. */
  esn?: boolean;
  antiReplay?: boolean;
}

/** The SA of a draft-mcgrew GCM case, with its fixed IV, positioned to send/receive the vector's sequence number. */
export function gcmSa(v: GcmCase, direction: "inbound" | "outbound", opts: VectorSaOptions = {}): SecurityAssociation {
  const esn = opts.esn ?? v.esn;
  const hi = esn && v.seq_hi ? parseInt(v.seq_hi, 16) : 0;
  const lo = parseInt(v.seq_lo, 16);
  // Outbound: the counter is one before the vector's number. Inbound: the window top is the
  // vector's number with nothing received, so ESN inference (RFC 4303 A2.2) picks the right high half.
  const initial = direction === "outbound" ? (lo === 0 ? { hi: hi - 1, lo: 0xffffffff } : { hi, lo: lo - 1 }) : { hi, lo };
  const pure = getEncr(20, Number(v.aes_key_bits));
  return new SecurityAssociation({
    spi: parseInt(v.spi, 16),
    direction,
    mode: "tunnel",
    encr: opts.encr ? opts.encr(pure) : pure,
    encrKey: new Secret(fromHex(v.keymat_ike)),
    esn,
    antiReplay: opts.antiReplay ?? true,
    local: parseIpAddress("192.0.2.1"),
    remote: parseIpAddress("192.0.2.2"),
    ivSource: dangerFixedIv(fromHex(v.iv)),
    initialSequence: initial,
    now: 0,
  });
}

/** The SA of the RFC 7634 Appendix A example (tunnel mode, 203.0.113.153 -> 203.0.113.5). */
export function chachaSa(v: ChaChaCase, direction: "inbound" | "outbound", opts: Pick<VectorSaOptions, "encr"> = {}): SecurityAssociation {
  const pure = getEncr(28);
  return new SecurityAssociation({
    spi: parseInt(v.spi, 16),
    direction,
    mode: "tunnel",
    encr: opts.encr ? opts.encr(pure) : pure,
    encrKey: new Secret(fromHex(v.keymat)),
    local: parseIpAddress(direction === "outbound" ? "203.0.113.153" : "203.0.113.5"),
    remote: parseIpAddress(direction === "outbound" ? "203.0.113.5" : "203.0.113.153"),
    ivSource: dangerFixedIv(fromHex(v.iv)),
    initialSequence: { hi: 0, lo: Number(v.seq) - (direction === "outbound" ? 1 : 0) },
    now: 0,
  });
}
