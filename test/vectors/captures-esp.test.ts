import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { getEncr } from "../../src/crypto/encr.js";
import { getInteg } from "../../src/crypto/integ.js";
import { constantTimeEqual } from "../../src/crypto/compare.js";
import { Secret } from "../../src/crypto/secret.js";
import type { IntegAlgorithm } from "../../src/crypto/types.js";
import { decapsulate, encapsulate, openPayload } from "../../src/ipsec/esp.js";
import { dangerFixedIv, SecurityAssociation, type SaMode } from "../../src/ipsec/sad.js";
import { decodeEspHeader } from "../../src/wire/esp.js";
import { fromHex, toHex } from "../../src/wire/hex.js";
import { peekIp, parseIpAddress, formatIpAddress } from "../../src/wire/ip.js";
import { classifyUdp4500 } from "../../src/wire/udp-encap.js";
import { ipPacket, readCapture, readUdpDatagrams } from "../support/pcap.js";
import { VECTORS } from "../ipsec/support.js";

// Captures indexed by /work/shared/vectors/captures/captures-and-keys.json (tcpdump's regression
// captures with esp-secrets.txt, and packetgen's pcapng files with keys from the index).

const CAP = `${VECTORS}/captures`;
const index = JSON.parse(readFileSync(`${CAP}/captures-and-keys.json`, "utf8")) as {
  tcpdump: { file: string; sa?: unknown; expected_output?: string[] }[];
  packetgen: { esp: PacketgenEsp[] };
};

interface PacketgenEsp {
  file: string;
  mode: SaMode;
  spi: string;
  seq?: number;
  seq_lo?: number;
  esn?: boolean;
  encryption: string;
  enc_key: string;
  keymat_ike?: string;
  iv: string;
  auth_key?: string;
  icv?: string;
  pad_length: number;
  next_header: number;
  decrypted_payload?: string;
  inner_ip_total_length?: number;
  tfc_padding_len?: number;
}

/**
 * The tcpdump captures use HMAC-SHA1-96 whose key was never published (the index says tcpdump does
 * not verify it either): this stand-in only knows the ICV is 12 bytes and accepts any value. Test-only.
 */
const dangerUncheckedSha1_96: IntegAlgorithm = {
  id: 2,
  name: "AUTH_HMAC_SHA1_96 (unverified, key not published)",
  keyLength: 20,
  icvLength: 12,
  create: () => ({ compute: () => new Uint8Array(12), verify: () => true }),
};

/**
 * packetgen's esp4-ctr-hmac.pcapng uses HMAC-SHA-256 truncated to 96 bits (non-standard, the index's
 * caveat): the real AUTH_HMAC_SHA2_256_128 from src/crypto, truncated to 12 bytes here.
 */
function hmacSha256_96(key: Uint8Array): IntegAlgorithm {
  const inner = getInteg(12);
  return {
    id: 12,
    name: "HMAC-SHA-256-96 (non-standard truncation)",
    keyLength: key.length,
    icvLength: 12,
    create: () => {
      // RFC 4868 wants a 32-byte key; this capture uses 16. HMAC pads short keys with zeros, so
      // padding to 32 zero-extended bytes gives the same MAC.
      const padded = new Uint8Array(32);
      padded.set(key);
      const ctx = inner.create(new Secret(padded));
      return {
        compute: (...parts: Uint8Array[]) => ctx.compute(...parts).slice(0, 12),
        verify: (icv: Uint8Array, ...parts: Uint8Array[]) => constantTimeEqual(icv, ctx.compute(...parts).subarray(0, 12)),
      };
    },
  };
}

/** The ESP packet of a captured IPv4 frame (protocol 50) and its outer addresses. */
function espOf(ip: Uint8Array): { esp: Uint8Array; src: string; dst: string } {
  const sel = peekIp(ip);
  expect(sel.protocol).toBe(50);
  const src = new Uint8Array(4);
  const dst = new Uint8Array(4);
  src.set(ip.subarray(12, 16));
  dst.set(ip.subarray(16, 20));
  return { esp: ip.subarray(sel.payloadOffset, sel.totalLength), src: formatIpAddress(src), dst: formatIpAddress(dst) };
}

function inboundSa(p: {
  spi: number;
  encrId: number;
  bits?: number;
  key: Uint8Array;
  integ?: IntegAlgorithm;
  mode?: SaMode;
  esn?: boolean;
  src: string;
  dst: string;
}): SecurityAssociation {
  return new SecurityAssociation({
    spi: p.spi,
    direction: "inbound",
    mode: p.mode ?? "tunnel",
    encr: getEncr(p.encrId, p.bits),
    encrKey: new Secret(p.key),
    integ: p.integ,
    integKey: p.integ ? new Secret(new Uint8Array(p.integ.keyLength)) : undefined,
    esn: p.esn,
    local: parseIpAddress(p.dst),
    remote: parseIpAddress(p.src),
    now: 0,
  });
}

/** esp-secrets.txt lines: `0xSPI@dst algo-hmac96:0xKEY`. */
function secrets(): Map<number, { dst: string; algo: string; key: Uint8Array }> {
  const m = new Map<number, { dst: string; algo: string; key: Uint8Array }>();
  for (const line of readFileSync(`${CAP}/tcpdump/esp-secrets.txt`, "utf8").split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const match = /^0x([0-9a-f]+)@(\S+)\s+(\S+):0x([0-9a-f]+)$/.exec(t);
    if (!match) throw new Error(`unparsed secrets line: ${t}`);
    m.set(parseInt(match[1]!, 16), { dst: match[2]!, algo: match[3]!, key: fromHex(match[4]!) });
  }
  return m;
}

function encrOf(algo: string): { id: number; bits?: number } {
  if (algo.startsWith("3des-cbc")) return { id: 3 };
  if (algo.startsWith("aes256-cbc")) return { id: 12, bits: 256 };
  throw new Error(`no transform for ${algo}`);
}

/** ICMP echo sequence numbers per frame from a tcpdump .out file (the innermost "seq N, length"). */
function echoSeqs(outFile: string): number[] {
  return readFileSync(`${CAP}/${outFile}`, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => Number(/ICMP echo request, id \d+, seq (\d+)/.exec(l)?.[1]));
}

describe("RFC 4303 s3.4 decapsulating tcpdump's ESP captures (keys from esp-secrets.txt)", () => {
  const keys = secrets();
  // 02-sunrise-sunset-esp.pcap's key is given inline in the index (tcpdump test esp1); the secrets
  // file's entry for the same SPI belongs to the nested capture.
  const inline = index.tcpdump.find((e) => e.file === "tcpdump/02-sunrise-sunset-esp.pcap")?.sa as { enc_key: string; dst: string };
  const decrypt = (spi: number, src: string, esp: Uint8Array, sas: Map<number, SecurityAssociation>, useInline: boolean): Uint8Array => {
    let sa = sas.get(spi);
    if (!sa) {
      const k = useInline ? { dst: inline.dst, algo: "3des-cbc-hmac96", key: fromHex(inline.enc_key) } : keys.get(spi);
      if (!k) throw new Error(`no key for SPI ${spi.toString(16)}`);
      const e = encrOf(k.algo);
      sa = inboundSa({ spi, encrId: e.id, bits: e.bits, key: k.key, integ: dangerUncheckedSha1_96, src, dst: k.dst });
      sas.set(spi, sa);
    }
    const r = decapsulate(sa, esp);
    if (typeof r === "string") throw new Error(`SPI ${spi.toString(16)}: ${r}`);
    return r;
  };

  for (const [file, out, nested] of [
    ["tcpdump/02-sunrise-sunset-esp.pcap", "tcpdump/esp1.out", false],
    ["tcpdump/08-sunrise-sunset-aes.pcap", "tcpdump/esp5.out", false],
    ["tcpdump/08-sunrise-sunset-esp2.pcap", "tcpdump/esp2.out", true],
  ] as const) {
    it(`${file}: every packet decrypts to the ICMP echo request tcpdump shows in ${out}`, () => {
      expect(index.tcpdump.some((e) => e.file === file)).toBe(true);
      const frames = readCapture(`${CAP}/${file}`);
      const seqs = echoSeqs(out);
      expect(frames.length).toBe(seqs.length);
      const sas = new Map<number, SecurityAssociation>();
      frames.forEach((f, i) => {
        const outer = espOf(ipPacket(f) as Uint8Array);
        const hdr = decodeEspHeader(outer.esp);
        expect(hdr.seq).toBe(i + 1);
        let inner = decrypt(hdr.spi, outer.src, outer.esp, sas, file.startsWith("tcpdump/02"));
        if (nested) {
          // Nested ESP (the index's caveat): the outer SA yields an IPv4 packet that is itself ESP.
          const mid = espOf(inner);
          expect(mid.dst).toBe("192.0.1.1");
          inner = decrypt(decodeEspHeader(mid.esp).spi, mid.src, mid.esp, sas, false);
        }
        const sel = peekIp(inner);
        expect(formatIpAddress(inner.subarray(12, 16))).toBe("192.0.2.1");
        expect(formatIpAddress(inner.subarray(16, 20))).toBe("192.0.1.1");
        expect(sel.protocol).toBe(1);
        expect(sel.srcPort >> 8).toBe(8); // ICMP echo request (type 8, code 0)
        expect(sel.totalLength).toBe(84);
        expect((inner[26]! << 8) | inner[27]!).toBe(seqs[i]);
      });
    });
  }

  it("tcpdump/espudp1.pcap: UDP/4500 payloads classify as ESP with SPI 0x12345678, seq 1..8 (parse only: its key does not decrypt it)", () => {
    const grams = readUdpDatagrams(`${CAP}/tcpdump/espudp1.pcap`);
    expect(grams.length).toBe(8);
    grams.forEach((g, i) => {
      expect(g.dstPort).toBe(4500);
      expect(classifyUdp4500(g.payload).kind).toBe("esp");
      const h = decodeEspHeader(g.payload);
      expect(h.spi).toBe(0x12345678);
      expect(h.seq).toBe(i + 1);
    });
  });

  it("tcpdump/isakmp4500.pcap: on port 4500 the Non-ESP Marker means IKE, anything else is ESP SPI 0xf4dc0ae5 (RFC 3948 s2.2)", () => {
    const grams = readUdpDatagrams(`${CAP}/tcpdump/isakmp4500.pcap`).filter((g) => g.srcPort === 4500 || g.dstPort === 4500);
    const kinds = grams.map((g) => classifyUdp4500(g.payload).kind);
    expect(kinds).toContain("ike");
    expect(kinds).toContain("esp");
    grams.forEach((g, i) => {
      if (kinds[i] === "esp") expect(decodeEspHeader(g.payload).spi).toBe(0xf4dc0ae5);
      if (kinds[i] === "ike") expect(g.payload.subarray(0, 4)).toEqual(new Uint8Array(4));
    });
  });
});

describe("RFC 4303 s3.4 decapsulating packetgen's ESP captures (keys from the index)", () => {
  for (const c of index.packetgen.esp) {
    it(`${c.file}: decrypts with the index's keys${c.file.includes("cbc") ? " and re-encrypts byte for byte" : ""}`, () => {
      const frames = readCapture(`${CAP}/${c.file}`);
      const espFrame = c.file.includes("transport-esn") ? frames[frames.length - 1]! : frames[0]!;
      const outer = espOf(ipPacket(espFrame) as Uint8Array);
      const spi = parseInt(c.spi, 16);
      expect(decodeEspHeader(outer.esp).spi).toBe(spi);
      expect(toHex(outer.esp.subarray(8, 8 + c.iv.length / 2))).toBe(c.iv);
      const gcm = c.encryption.includes("GCM");
      const ctr = c.encryption.includes("CTR");
      const bits = c.enc_key.length * 4;
      const key = fromHex(c.keymat_ike ?? c.enc_key);
      const integ = ctr ? hmacSha256_96(fromHex(c.auth_key as string)) : undefined;
      const mk = (esn?: boolean): SecurityAssociation =>
        inboundSa({ spi, encrId: gcm ? 20 : ctr ? 13 : 12, bits, key, integ, mode: c.mode, esn, src: outer.src, dst: outer.dst });

      const opened = openPayload(mk(c.esn), outer.esp);
      if (typeof opened === "string") throw new Error(opened);
      expect(opened.padLength).toBe(c.pad_length);
      expect(opened.nextHeader).toBe(c.next_header);
      if (c.icv) expect(toHex(outer.esp.subarray(outer.esp.length - 12))).toBe(c.icv);

      const inner = decapsulate(mk(c.esn), outer.esp);
      if (typeof inner === "string") throw new Error(inner);
      if (c.mode === "transport") {
        // esp-transport-esn: the payload is the ICMP message; the 12-byte ESN AAD is required.
        expect(toHex(inner.subarray(20))).toBe(c.decrypted_payload);
        expect(openPayload(mk(false), outer.esp)).toBe("ICV_FAILURE");
        return;
      }
      const expected = ipPacket(frames[1]!) as Uint8Array;
      if (c.tfc_padding_len !== undefined) {
        // RFC 4303 s2.7: TFC padding precedes the ESP padding; the inner Total Length bounds the packet.
        expect(opened.payloadLength).toBe((c.inner_ip_total_length as number) + c.tfc_padding_len);
        expect(opened.plaintext.subarray(c.inner_ip_total_length, opened.payloadLength).every((b) => b === 0)).toBe(true);
        expect(inner.length).toBe(c.inner_ip_total_length);
        // Frame 2 carries the cleartext packet followed by zero bytes (1000 in all); its own Total
        // Length (84) bounds it, exactly like the inner packet after TFC removal.
        expect(peekIp(expected).totalLength).toBe(c.inner_ip_total_length);
        expect(toHex(inner)).toBe(toHex(expected.subarray(0, c.inner_ip_total_length)));
      } else {
        expect(toHex(inner)).toBe(toHex(expected.subarray(0, inner.length)));
        expect(inner.length).toBe(peekIp(expected).totalLength);
      }
      if (gcm) {
        const bad = outer.esp.slice();
        bad[bad.length - 1]! ^= 1;
        expect(decapsulate(mk(c.esn), bad)).toBe("ICV_FAILURE");
      }
      if (!gcm && !ctr) {
        // esp4-cbc: re-encrypting frame 2 with the given IV reproduces frame 1's ESP bytes.
        const out = new SecurityAssociation({
          spi,
          direction: "outbound",
          mode: "tunnel",
          encr: getEncr(12, bits),
          encrKey: new Secret(key),
          local: parseIpAddress(outer.src),
          remote: parseIpAddress(outer.dst),
          ivSource: dangerFixedIv(fromHex(c.iv)),
          initialSequence: { hi: 0, lo: (c.seq as number) - 1 },
          now: 0,
        });
        expect(toHex(encapsulate(out, expected.subarray(0, peekIp(expected).totalLength)) as Uint8Array)).toBe(toHex(outer.esp));
      }
    });
  }
});
