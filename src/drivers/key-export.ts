import { closeSync, fchmodSync, fstatSync, openSync, writeSync } from "node:fs";
import type { ChildSaSpec } from "../ike/api.js";
import type { Secret } from "../crypto/secret.js";
import type { EncrAlgorithm, IntegAlgorithm } from "../crypto/types.js";
import { EncrId, IntegId } from "../wire/ike/constants.js";
import { toHex } from "../wire/hex.js";

/**
 * Export of negotiated keys in Wireshark's own key tables, so a capture of a tsipsec session can
 * be decrypted by an independent implementation (what strongSwan's `save-keys` plugin does).
 *
 * Two tables (Wireshark "UAT" files, one row per SA, in the profile directory or passed with
 * `tshark -o uat:<table>:<row>`):
 * - `ikev2_decryption_table`: `SPIi,SPIr,SK_ei,SK_er,"<encr>",SK_ai,SK_ar,"<integ>"`, SPIs and
 *   keys as bare lowercase hex (16 digits for the SPIs), algorithm names quoted. For combined-mode
 *   ciphers SK_e* includes the salt (RFC 5282 s7.1) and the integrity column is `"NONE [RFC4306]"`
 *   with empty keys.
 * - `esp_sa`: `"IPv4","<src>","<dst>","0x<SPI>","<encr>","0x<key>","<auth>","0x<key>"`, every
 *   field quoted. For AES-GCM the key includes the 4-byte salt (RFC 4106 s8.1) and the
 *   authentication column is `"NULL",""`.
 *
 * Algorithm names are spelled exactly as Wireshark lists them (shared/vectors/captures/wireshark/
 * *.tmpl and Wireshark 4.0's packet-isakmp.c / packet-ipsec.c value strings). Algorithms Wireshark
 * has no name for (e.g. ChaCha20-Poly1305 in IKEv2, AES-XCBC) cannot be exported: the formatters
 * throw KeyExportError and the KeyExporter skips the SA and says so in its return value.
 *
 * The files hold live keys: they are created with mode 0600 (and an existing file is narrowed to
 * 0600) and rows are only ever appended.
 */

/** An SA whose algorithms Wireshark cannot decrypt, or inconsistent key lengths. */
export class KeyExportError extends Error {
  override readonly name = "KeyExportError";
}

/** The fields of an ENCR transform that decide the Wireshark name. */
export type EncrDescriptor = Pick<EncrAlgorithm, "id" | "keyLength" | "keymatLength">;
/** The fields of an INTEG transform that decide the Wireshark name. */
export type IntegDescriptor = Pick<IntegAlgorithm, "id" | "keyLength">;

/** Wireshark's `ikev2_decryption_table` name for an IKE SA's ENCR transform, or undefined. */
export function wiresharkIkev2EncrName(encr: EncrDescriptor): string | undefined {
  const bits = encr.keyLength * 8;
  const aesBits = bits === 128 || bits === 192 || bits === 256;
  switch (encr.id) {
    case EncrId.ENCR_NULL:
      return "NULL [RFC2410]";
    case EncrId.ENCR_3DES:
      return "3DES [RFC2451]";
    case EncrId.ENCR_AES_CBC:
      return aesBits ? `AES-CBC-${bits} [RFC3602]` : undefined;
    case EncrId.ENCR_AES_CTR:
      return aesBits ? `AES-CTR-${bits} [RFC5930]` : undefined;
    case EncrId.ENCR_AES_CCM_8:
    case EncrId.ENCR_AES_CCM_12:
    case EncrId.ENCR_AES_CCM_16:
      return aesBits ? `AES-CCM-${bits} with ${aeadIcv(encr.id)} octet ICV [RFC5282]` : undefined;
    case EncrId.ENCR_AES_GCM_8:
    case EncrId.ENCR_AES_GCM_12:
    case EncrId.ENCR_AES_GCM_16:
      return aesBits ? `AES-GCM-${bits} with ${aeadIcv(encr.id)} octet ICV [RFC5282]` : undefined;
    default:
      return undefined;
  }
}

/** Wireshark's `ikev2_decryption_table` name for an IKE SA's INTEG transform (undefined for AEAD: `NONE [RFC4306]`). */
export function wiresharkIkev2IntegName(integ: IntegDescriptor | undefined): string | undefined {
  if (integ === undefined) return "NONE [RFC4306]";
  switch (integ.id) {
    case IntegId.AUTH_HMAC_MD5_96:
      return "HMAC_MD5_96 [RFC2403]";
    case IntegId.AUTH_HMAC_SHA1_96:
      return "HMAC_SHA1_96 [RFC2404]";
    case IntegId.AUTH_HMAC_MD5_128:
      return "HMAC_MD5_128 [RFC4595]";
    case IntegId.AUTH_HMAC_SHA1_160:
      return "HMAC_SHA1_160 [RFC4595]";
    case IntegId.AUTH_HMAC_SHA2_256_128:
      return "HMAC_SHA2_256_128 [RFC4868]";
    case IntegId.AUTH_HMAC_SHA2_384_192:
      return "HMAC_SHA2_384_192 [RFC4868]";
    case IntegId.AUTH_HMAC_SHA2_512_256:
      return "HMAC_SHA2_512_256 [RFC4868]";
    default:
      return undefined;
  }
}

/** Wireshark's `esp_sa` name for a Child SA's ENCR transform, or undefined. */
export function wiresharkEspEncrName(encr: EncrDescriptor): string | undefined {
  switch (encr.id) {
    case EncrId.ENCR_NULL:
      return "NULL";
    case EncrId.ENCR_3DES:
      return "TripleDES-CBC [RFC2451]";
    case EncrId.ENCR_AES_CBC:
      return "AES-CBC [RFC3602]";
    case EncrId.ENCR_AES_CTR:
      return "AES-CTR [RFC3686]";
    case EncrId.ENCR_AES_GCM_8:
    case EncrId.ENCR_AES_GCM_12:
    case EncrId.ENCR_AES_GCM_16:
      return `AES-GCM with ${aeadIcv(encr.id)} octet ICV [RFC4106]`;
    case EncrId.ENCR_CHACHA20_POLY1305:
      // Known to Wireshark 4.2 and later; 4.0 lists the row but cannot decrypt it.
      return "ChaCha20 with Poly1305 [RFC7634]";
    default:
      return undefined;
  }
}

/** Wireshark's `esp_sa` name for a Child SA's INTEG transform (`NULL` when the cipher is combined-mode). */
export function wiresharkEspAuthName(integ: IntegDescriptor | undefined): string | undefined {
  if (integ === undefined) return "NULL";
  switch (integ.id) {
    case IntegId.AUTH_HMAC_SHA1_96:
      return "HMAC-SHA-1-96 [RFC2404]";
    case IntegId.AUTH_HMAC_MD5_96:
      return "HMAC-MD5-96 [RFC2403]";
    case IntegId.AUTH_HMAC_SHA2_256_128:
      return "HMAC-SHA-256-128 [RFC4868]";
    case IntegId.AUTH_HMAC_SHA2_384_192:
      return "HMAC-SHA-384-192 [RFC4868]";
    case IntegId.AUTH_HMAC_SHA2_512_256:
      return "HMAC-SHA-512-256 [RFC4868]";
    default:
      return undefined;
  }
}

function aeadIcv(id: number): number {
  switch (id) {
    case EncrId.ENCR_AES_GCM_8:
    case EncrId.ENCR_AES_CCM_8:
      return 8;
    case EncrId.ENCR_AES_GCM_12:
    case EncrId.ENCR_AES_CCM_12:
      return 12;
    default:
      return 16;
  }
}

/** One `ikev2_decryption_table` row as text fields (keys as lowercase hex, "" for none). */
export interface Ikev2DecryptionFields {
  spiI: bigint;
  spiR: bigint;
  skEi: string;
  skEr: string;
  encrName: string;
  skAi: string;
  skAr: string;
  integName: string;
}

/** Renders one `ikev2_decryption_table` row from text fields (no trailing newline). */
export function formatIkev2DecryptionFields(f: Ikev2DecryptionFields): string {
  return [spi64(f.spiI), spi64(f.spiR), f.skEi, f.skEr, quote(f.encrName), f.skAi, f.skAr, quote(f.integName)].join(",");
}

/** The keys of one IKE SA as they are needed to decrypt its SK payloads (RFC 7296 s2.14). */
export interface IkeSaKeys {
  /** IKE SA initiator's and responder's SPIs (8 bytes each). */
  spiI: bigint;
  spiR: bigint;
  encr: EncrDescriptor;
  /** undefined for combined-mode ciphers. */
  integ: IntegDescriptor | undefined;
  /** SK_ei / SK_er: `encr.keymatLength` bytes each (key || salt for AEAD, RFC 5282 s7.1). */
  skEi: Secret;
  skEr: Secret;
  /** SK_ai / SK_ar: `integ.keyLength` bytes each; undefined for combined-mode ciphers. */
  skAi: Secret | undefined;
  skAr: Secret | undefined;
}

/**
 * One row of Wireshark's `ikev2_decryption_table` for an IKE SA (no trailing newline).
 * Throws KeyExportError when Wireshark has no name for an algorithm or a key has the wrong length.
 */
export function formatIkev2DecryptionRow(keys: IkeSaKeys): string {
  const encrName = wiresharkIkev2EncrName(keys.encr);
  if (encrName === undefined) throw new KeyExportError(`Wireshark cannot decrypt IKEv2 with ENCR transform ${keys.encr.id} (${keys.encr.keyLength * 8} bits)`);
  const integName = wiresharkIkev2IntegName(keys.integ);
  if (integName === undefined) throw new KeyExportError(`Wireshark cannot check IKEv2 INTEG transform ${keys.integ?.id ?? "none"}`);
  checkLength("SK_ei", keys.skEi, keys.encr.keymatLength);
  checkLength("SK_er", keys.skEr, keys.encr.keymatLength);
  if (keys.integ !== undefined) {
    checkLength("SK_ai", keys.skAi, keys.integ.keyLength);
    checkLength("SK_ar", keys.skAr, keys.integ.keyLength);
  }
  return formatIkev2DecryptionFields({
    spiI: keys.spiI,
    spiR: keys.spiR,
    skEi: hexOf(keys.skEi),
    skEr: hexOf(keys.skEr),
    encrName,
    skAi: keys.integ === undefined ? "" : hexOf(keys.skAi),
    skAr: keys.integ === undefined ? "" : hexOf(keys.skAr),
    integName,
  });
}

/** One `esp_sa` row as text fields (keys as lowercase hex without `0x`, "" for none). */
export interface EspSaFields {
  protocol: "IPv4" | "IPv6";
  src: string;
  dst: string;
  spi: number;
  encrName: string;
  encrKey: string;
  authName: string;
  authKey: string;
}

/** Renders one `esp_sa` row from text fields (no trailing newline). */
export function formatEspSaFields(f: EspSaFields): string {
  const hex0x = (h: string): string => (h === "" ? "" : `0x${h}`);
  return [f.protocol, f.src, f.dst, `0x${(f.spi >>> 0).toString(16).padStart(8, "0")}`, f.encrName, hex0x(f.encrKey), f.authName, hex0x(f.authKey)].map(quote).join(",");
}

/** The keys of one direction of a Child SA (one ESP SA, RFC 4303). */
export interface EspSaKeys {
  /** Outer source and destination address of the packets this SA protects (text form). */
  src: string;
  dst: string;
  /** SPI as carried in the ESP header, host order. */
  spi: number;
  encr: EncrDescriptor;
  integ: IntegDescriptor | undefined;
  /** `encr.keymatLength` bytes (key || salt for AEAD, RFC 4106 s8.1). */
  encrKey: Secret;
  /** `integ.keyLength` bytes; undefined for combined-mode ciphers. */
  integKey: Secret | undefined;
}

/**
 * One row of Wireshark's `esp_sa` table (no trailing newline). Throws KeyExportError when
 * Wireshark has no name for an algorithm or a key has the wrong length.
 */
export function formatEspSaRow(sa: EspSaKeys): string {
  const encrName = wiresharkEspEncrName(sa.encr);
  if (encrName === undefined) throw new KeyExportError(`Wireshark cannot decrypt ESP with ENCR transform ${sa.encr.id}`);
  const authName = wiresharkEspAuthName(sa.integ);
  if (authName === undefined) throw new KeyExportError(`Wireshark cannot check ESP INTEG transform ${sa.integ?.id ?? "none"}`);
  checkLength("encryption key", sa.encrKey, sa.encr.keymatLength);
  if (sa.integ !== undefined) checkLength("authentication key", sa.integKey, sa.integ.keyLength);
  return formatEspSaFields({
    protocol: sa.src.includes(":") ? "IPv6" : "IPv4",
    src: sa.src,
    dst: sa.dst,
    spi: sa.spi,
    encrName,
    encrKey: hexOf(sa.encrKey),
    authName,
    authKey: sa.integ === undefined ? "" : hexOf(sa.integKey),
  });
}

/**
 * The two ESP SAs of a negotiated Child SA (the engine's `installChildSa` output): inbound
 * (peer -> us, our SPI) and outbound (us -> peer, the peer's SPI), keyed per RFC 7296 s2.17.
 */
export function espSasOfChildSa(sa: ChildSaSpec): [inbound: EspSaKeys, outbound: EspSaKeys] {
  return [
    { src: sa.remote.address, dst: sa.local.address, spi: sa.spiIn, encr: sa.encr, integ: sa.integ, encrKey: sa.encrKeyIn, integKey: sa.integKeyIn },
    { src: sa.local.address, dst: sa.remote.address, spi: sa.spiOut, encr: sa.encr, integ: sa.integ, encrKey: sa.encrKeyOut, integKey: sa.integKeyOut },
  ];
}

/** Header line Wireshark writes at the top of the UAT files it saves. */
export const UAT_HEADER = "# This file is automatically generated, DO NOT MODIFY.";

export interface KeyExporterOptions {
  /** File for `ikev2_decryption_table` rows (e.g. `$DIR/ikev2_decryption_table`); omitted: IKE SAs are not exported. */
  ikev2Path?: string;
  /** File for `esp_sa` rows; omitted: Child SAs are not exported. */
  espPath?: string;
}

/** What an export call did: `written` rows, or `skipped` with the reason (never throws for an unsupported algorithm). */
export type KeyExportResult = { written: number } | { written: 0; skipped: string };

/**
 * Appends key rows to Wireshark key table files (daemon config `daemon.save_keys`). The files
 * are created mode 0600 (the IKEv2 table starts with Wireshark's UAT header line, as Wireshark
 * writes it); an existing file is narrowed to 0600.
 * Writes are synchronous and whole-row, so a reader never sees half a row.
 */
export class KeyExporter {
  constructor(readonly options: KeyExporterOptions) {}

  /** Appends the IKE SA's row to the ikev2 table. */
  exportIkeSa(keys: IkeSaKeys): KeyExportResult {
    if (this.options.ikev2Path === undefined) return { written: 0, skipped: "no ikev2_decryption_table path configured" };
    let row: string;
    try {
      row = formatIkev2DecryptionRow(keys);
    } catch (e) {
      if (e instanceof KeyExportError) return { written: 0, skipped: e.message };
      throw e;
    }
    appendRows(this.options.ikev2Path, [row], UAT_HEADER);
    return { written: 1 };
  }

  /** Appends the inbound and outbound ESP SA rows of a Child SA to the esp_sa table. */
  exportChildSa(sa: ChildSaSpec): KeyExportResult {
    if (this.options.espPath === undefined) return { written: 0, skipped: "no esp_sa path configured" };
    let rows: string[];
    try {
      rows = espSasOfChildSa(sa).map(formatEspSaRow);
    } catch (e) {
      if (e instanceof KeyExportError) return { written: 0, skipped: e.message };
      throw e;
    }
    appendRows(this.options.espPath, rows, undefined);
    return { written: rows.length };
  }
}

function appendRows(path: string, rows: readonly string[], header: string | undefined): void {
  const fd = openSync(path, "a", 0o600);
  try {
    // The mode argument applies only when the file is created: narrow an existing file too.
    fchmodSync(fd, 0o600);
    const head = header !== undefined && fstatSync(fd).size === 0 ? `${header}\n` : "";
    writeSync(fd, head + rows.map((r) => `${r}\n`).join(""));
  } finally {
    closeSync(fd);
  }
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function spi64(spi: bigint): string {
  return BigInt.asUintN(64, spi).toString(16).padStart(16, "0");
}

function hexOf(s: Secret | undefined): string {
  return s === undefined ? "" : toHex(s.expose());
}

function checkLength(what: string, s: Secret | undefined, want: number): void {
  const got = s?.length ?? 0;
  if (got !== want) throw new KeyExportError(`${what} is ${got} bytes, want ${want}`);
}
