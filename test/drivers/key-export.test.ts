/**
 * Wireshark key export (src/drivers/key-export.ts) against Wireshark's own key tables:
 * shared/vectors/captures/wireshark/ikev2_decryption_table.tmpl and esp_sa.tmpl (Wireshark's test
 * suite files). Each row there is rebuilt from typed keys and must come out byte for byte.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readVectorText } from "../crypto/vectors.js";
import {
  espSasOfChildSa,
  formatEspSaFields,
  formatEspSaRow,
  formatIkev2DecryptionFields,
  formatIkev2DecryptionRow,
  KeyExportError,
  KeyExporter,
  UAT_HEADER,
  type IntegDescriptor,
} from "../../src/drivers/key-export.js";
import { getEncr } from "../../src/crypto/encr.js";
import { getInteg } from "../../src/crypto/integ.js";
import { Secret } from "../../src/crypto/secret.js";
import { EncrId, IntegId } from "../../src/wire/ike/constants.js";
import { fromHex } from "../../src/wire/hex.js";
import type { ChildSaSpec } from "../../src/ike/api.js";
import type { EncrAlgorithm, IntegAlgorithm } from "../../src/crypto/types.js";


/** Splits one UAT row: fields separated by commas, double-quoted fields may hold commas. Returns [value, wasQuoted]. */
function splitUatRow(row: string): [string, boolean][] {
  const out: [string, boolean][] = [];
  let i = 0;
  while (i <= row.length) {
    if (row[i] === '"') {
      const end = row.indexOf('"', i + 1);
      out.push([row.slice(i + 1, end), true]);
      i = end + 2;
    } else {
      const end = row.indexOf(",", i);
      const stop = end < 0 ? row.length : end;
      out.push([row.slice(i, stop), false]);
      i = stop + 1;
    }
  }
  return out;
}

function tmplRows(file: string): string[] {
  return readVectorText(`captures/wireshark/${file}`)
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"));
}

const secret = (hex: string): Secret => new Secret(fromHex(hex));

/**
 * The test's own reading of Wireshark's IKEv2 algorithm names (Wireshark packet-isakmp.c) as IANA
 * transforms. `undefined` marks a Wireshark-only entry with no IANA transform.
 */
const IKEV2_ENCR_BY_NAME: Record<string, { id: number; bits?: number } | undefined> = {
  "NULL [RFC2410]": { id: EncrId.ENCR_NULL },
  "3DES [RFC2451]": { id: EncrId.ENCR_3DES },
  "AES-CCM-128 with 12 octet ICV [RFC5282]": { id: EncrId.ENCR_AES_CCM_12, bits: 128 },
  "AES-CTR-128 [RFC5930]": { id: EncrId.ENCR_AES_CTR, bits: 128 },
  "AES-CTR-192 [RFC5930]": { id: EncrId.ENCR_AES_CTR, bits: 192 },
  "AES-CBC-256 [RFC3602]": { id: EncrId.ENCR_AES_CBC, bits: 256 },
  "AES-CCM-256 with 16 octet ICV [RFC5282]": { id: EncrId.ENCR_AES_CCM_16, bits: 256 },
  "AES-GCM-256 with 8 octet ICV [RFC5282]": { id: EncrId.ENCR_AES_GCM_8, bits: 256 },
  "AES-GCM-256 with 16 octet ICV [RFC5282]": { id: EncrId.ENCR_AES_GCM_16, bits: 256 },
};
const IKEV2_INTEG_BY_NAME: Record<string, IntegDescriptor | "none" | undefined> = {
  "NONE [RFC4306]": "none",
  // AUTH_HMAC_SHA1_160 (RFC 4595) is not implemented by src/crypto/integ.ts; only its id and key length matter here.
  "HMAC_SHA1_160 [RFC4595]": { id: IntegId.AUTH_HMAC_SHA1_160, keyLength: 20 },
  "HMAC_SHA2_512_256 [RFC4868]": getInteg(IntegId.AUTH_HMAC_SHA2_512_256),
  "HMAC_SHA2_256_128 [RFC4868]": getInteg(IntegId.AUTH_HMAC_SHA2_256_128),
  // Wireshark's "ANY 96-bits of Authentication [No Checking]" has no IANA transform.
  "ANY 96-bits of Authentication [No Checking]": undefined,
};

describe("Wireshark ikev2_decryption_table rows (ikev2_decryption_table.tmpl; RFC 7296 s2.14, RFC 5282 s7.1)", () => {
  const rows = tmplRows("ikev2_decryption_table.tmpl");

  it("the template has the rows this test expects", () => {
    expect(rows).toHaveLength(9);
  });

  it("every template row is reproduced exactly from its fields (SPIs and keys bare hex, names quoted)", () => {
    for (const row of rows) {
      const f = splitUatRow(row);
      expect(f.map(([, q]) => q)).toEqual([false, false, false, false, true, false, false, true]);
      const v = f.map(([x]) => x);
      const out = formatIkev2DecryptionFields({
        spiI: BigInt(`0x${v[0]}`),
        spiR: BigInt(`0x${v[1]}`),
        skEi: v[2] ?? "",
        skEr: v[3] ?? "",
        encrName: v[4] ?? "",
        skAi: v[5] ?? "",
        skAr: v[6] ?? "",
        integName: v[7] ?? "",
      });
      expect(out).toBe(row);
    }
  });

  it("every row whose algorithms are IANA transforms is reproduced from typed IKE SA keys", () => {
    let reproduced = 0;
    for (const row of rows) {
      const v = splitUatRow(row).map(([x]) => x);
      const encrSpec = IKEV2_ENCR_BY_NAME[v[4] ?? ""];
      const integSpec = IKEV2_INTEG_BY_NAME[v[7] ?? ""];
      expect(Object.keys(IKEV2_ENCR_BY_NAME)).toContain(v[4]);
      expect(Object.keys(IKEV2_INTEG_BY_NAME)).toContain(v[7]);
      if (encrSpec === undefined || integSpec === undefined) {
        // Only the "ANY 96-bits" row: no IANA transform can produce it.
        expect(v[7]).toBe("ANY 96-bits of Authentication [No Checking]");
        continue;
      }
      const encr = getEncr(encrSpec.id, encrSpec.bits);
      const integ = integSpec === "none" ? undefined : integSpec;
      const out = formatIkev2DecryptionRow({
        spiI: BigInt(`0x${v[0]}`),
        spiR: BigInt(`0x${v[1]}`),
        encr,
        integ,
        skEi: secret(v[2] ?? ""),
        skEr: secret(v[3] ?? ""),
        skAi: integ === undefined ? undefined : secret(v[5] ?? ""),
        skAr: integ === undefined ? undefined : secret(v[6] ?? ""),
      });
      expect(out).toBe(row);
      reproduced++;
    }
    expect(reproduced).toBe(8);
  });

  it("an SPI with a leading zero keeps its 16 digits", () => {
    const encr = getEncr(EncrId.ENCR_AES_GCM_16, 128);
    const row = formatIkev2DecryptionRow({ spiI: 0x00ffn, spiR: 0xffffffffffffffffn, encr, integ: undefined, skEi: new Secret(new Uint8Array(20)), skEr: new Secret(new Uint8Array(20)), skAi: undefined, skAr: undefined });
    expect(row).toBe(`00000000000000ff,ffffffffffffffff,${"00".repeat(20)},${"00".repeat(20)},"AES-GCM-128 with 16 octet ICV [RFC5282]",,,"NONE [RFC4306]"`);
  });

  it("ChaCha20-Poly1305 IKE SAs cannot be exported (Wireshark has no IKEv2 name for them): KeyExportError", () => {
    const encr = getEncr(EncrId.ENCR_CHACHA20_POLY1305);
    expect(() => formatIkev2DecryptionRow({ spiI: 1n, spiR: 2n, encr, integ: undefined, skEi: new Secret(new Uint8Array(36)), skEr: new Secret(new Uint8Array(36)), skAi: undefined, skAr: undefined })).toThrow(KeyExportError);
  });

  it("a key of the wrong length is refused (SK_ei must be key || salt)", () => {
    const encr = getEncr(EncrId.ENCR_AES_GCM_16, 128);
    expect(() => formatIkev2DecryptionRow({ spiI: 1n, spiR: 2n, encr, integ: undefined, skEi: new Secret(new Uint8Array(16)), skEr: new Secret(new Uint8Array(20)), skAi: undefined, skAr: undefined })).toThrow(/SK_ei is 16 bytes, want 20/);
  });
});

describe("Wireshark esp_sa rows (esp_sa.tmpl; RFC 4303, RFC 4106 s8.1)", () => {
  const rows = tmplRows("esp_sa.tmpl");

  it("every template row is reproduced from typed ESP SA keys (all fields quoted, SPI and keys 0x-prefixed)", () => {
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      const f = splitUatRow(row);
      expect(f.every(([, q]) => q)).toBe(true);
      const v = f.map(([x]) => x);
      expect([v[4], v[6]]).toEqual(["AES-CBC [RFC3602]", "HMAC-SHA-1-96 [RFC2404]"]);
      const encrKey = (v[5] ?? "").replace(/^0x/, "");
      const out = formatEspSaRow({
        src: v[1] ?? "",
        dst: v[2] ?? "",
        spi: Number(v[3]),
        encr: getEncr(EncrId.ENCR_AES_CBC, encrKey.length * 4),
        integ: getInteg(IntegId.AUTH_HMAC_SHA1_96),
        encrKey: secret(encrKey),
        integKey: secret((v[7] ?? "").replace(/^0x/, "")),
      });
      expect(out).toBe(row);
      // And the field-level formatter agrees.
      expect(formatEspSaFields({ protocol: "IPv4", src: v[1] ?? "", dst: v[2] ?? "", spi: Number(v[3]), encrName: v[4] ?? "", encrKey, authName: v[6] ?? "", authKey: (v[7] ?? "").replace(/^0x/, "") })).toBe(row);
    }
  });

  it("AES-GCM-16 rows carry key || salt and NULL authentication with an empty key", () => {
    const row = formatEspSaRow({
      src: "2001:db8:ff::1",
      dst: "2001:db8:ff::2",
      spi: 0x0000abcd,
      encr: getEncr(EncrId.ENCR_AES_GCM_16, 128),
      integ: undefined,
      encrKey: secret("000102030405060708090a0b0c0d0e0f" + "a0a1a2a3"),
      integKey: undefined,
    });
    expect(row).toBe('"IPv6","2001:db8:ff::1","2001:db8:ff::2","0x0000abcd","AES-GCM with 16 octet ICV [RFC4106]","0x000102030405060708090a0b0c0d0e0fa0a1a2a3","NULL",""');
  });

  it("AES-XCBC-96 has no Wireshark name: KeyExportError", () => {
    expect(() =>
      formatEspSaRow({ src: "192.0.2.1", dst: "192.0.2.2", spi: 1, encr: getEncr(EncrId.ENCR_AES_CBC, 128), integ: getInteg(IntegId.AUTH_AES_XCBC_96), encrKey: new Secret(new Uint8Array(16)), integKey: new Secret(new Uint8Array(16)) }),
    ).toThrow(KeyExportError);
  });
});

function childSa(encr: EncrAlgorithm, integ: IntegAlgorithm | undefined): ChildSaSpec {
  const fill = (n: number, b: number): Secret => new Secret(new Uint8Array(n).fill(b));
  return {
    id: 1,
    connection: "s2s",
    child: "net",
    ikeSaId: 1,
    protocol: "esp",
    mode: "tunnel",
    spiIn: 0xc1000001,
    spiOut: 0xc2000002,
    encr,
    integ,
    esn: false,
    encrKeyIn: fill(encr.keymatLength, 0x11),
    integKeyIn: integ === undefined ? undefined : fill(integ.keyLength, 0x22),
    encrKeyOut: fill(encr.keymatLength, 0x33),
    integKeyOut: integ === undefined ? undefined : fill(integ.keyLength, 0x44),
    localTs: [],
    remoteTs: [],
    local: { address: "192.0.2.1", port: 4500 },
    remote: { address: "192.0.2.2", port: 4500 },
    udpEncapsulation: true,
    replayWindow: 32,
    tfcPadding: false,
    lifetime: { softSeconds: 0, hardSeconds: 0, softBytes: 0, hardBytes: 0, softPackets: 0, hardPackets: 0 },
    replaces: undefined,
  };
}

describe("KeyExporter files (daemon.save_keys)", () => {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tsipsec-keyexport-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("appends the inbound and outbound ESP SAs of a Child SA (RFC 7296 s2.17 key directions) to a 0600 file", () => {
    const espPath = join(dir, "esp_sa");
    const ex = new KeyExporter({ espPath });
    const sa = childSa(getEncr(EncrId.ENCR_AES_CBC, 128), getInteg(IntegId.AUTH_HMAC_SHA2_256_128));
    expect(ex.exportChildSa(sa)).toEqual({ written: 2 });
    expect(statSync(espPath).mode & 0o777).toBe(0o600);
    const lines = readFileSync(espPath, "utf8").split("\n");
    expect(lines[0]).toBe(`"IPv4","192.0.2.2","192.0.2.1","0xc1000001","AES-CBC [RFC3602]","0x${"11".repeat(16)}","HMAC-SHA-256-128 [RFC4868]","0x${"22".repeat(32)}"`);
    expect(lines[1]).toBe(`"IPv4","192.0.2.1","192.0.2.2","0xc2000002","AES-CBC [RFC3602]","0x${"33".repeat(16)}","HMAC-SHA-256-128 [RFC4868]","0x${"44".repeat(32)}"`);
    expect(lines.slice(2)).toEqual([""]);
    // A second Child SA appends; nothing is rewritten.
    expect(ex.exportChildSa({ ...sa, spiIn: 0xc1000003, spiOut: 0xc2000004 })).toEqual({ written: 2 });
    expect(readFileSync(espPath, "utf8").split("\n")).toHaveLength(5);
    expect(espSasOfChildSa(sa).map((e) => e.spi)).toEqual([0xc1000001, 0xc2000002]);
  });

  it("writes the IKEv2 table with Wireshark's header line, mode 0600, and narrows a pre-existing 0644 file", () => {
    const ikev2Path = join(dir, "ikev2_decryption_table");
    writeFileSync(ikev2Path, "", { mode: 0o644 });
    const ex = new KeyExporter({ ikev2Path });
    const encr = getEncr(EncrId.ENCR_AES_CBC, 128);
    const integ = getInteg(IntegId.AUTH_HMAC_SHA2_256_128);
    const keys = { spiI: 0x0123456789abcdefn, spiR: 0xfedcba9876543210n, encr, integ, skEi: new Secret(new Uint8Array(16).fill(1)), skEr: new Secret(new Uint8Array(16).fill(2)), skAi: new Secret(new Uint8Array(32).fill(3)), skAr: new Secret(new Uint8Array(32).fill(4)) };
    expect(ex.exportIkeSa(keys)).toEqual({ written: 1 });
    expect(statSync(ikev2Path).mode & 0o777).toBe(0o600);
    expect(readFileSync(ikev2Path, "utf8")).toBe(
      `${UAT_HEADER}\n0123456789abcdef,fedcba9876543210,${"01".repeat(16)},${"02".repeat(16)},"AES-CBC-128 [RFC3602]",${"03".repeat(32)},${"04".repeat(32)},"HMAC_SHA2_256_128 [RFC4868]"\n`,
    );
  });

  it("skips an SA Wireshark cannot decrypt and says why, without creating the file", () => {
    const ikev2Path = join(dir, "ikev2_decryption_table");
    const ex = new KeyExporter({ ikev2Path });
    const encr = getEncr(EncrId.ENCR_CHACHA20_POLY1305);
    const r = ex.exportIkeSa({ spiI: 1n, spiR: 2n, encr, integ: undefined, skEi: new Secret(new Uint8Array(36)), skEr: new Secret(new Uint8Array(36)), skAi: undefined, skAr: undefined });
    expect(r.written).toBe(0);
    expect("skipped" in r && r.skipped).toMatch(/Wireshark cannot decrypt IKEv2/);
    expect(existsSync(ikev2Path)).toBe(false);
  });

  it("a table without a configured path is not written", () => {
    const ex = new KeyExporter({});
    expect(ex.exportChildSa(childSa(getEncr(EncrId.ENCR_AES_GCM_16, 256), undefined))).toEqual({ written: 0, skipped: "no esp_sa path configured" });
  });
});
