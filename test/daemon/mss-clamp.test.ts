import { describe, expect, it } from "vitest";
import { clampMss, mssForMtu } from "../../src/daemon/mss-clamp.js";
import { foldChecksum, onesComplementSum } from "../../src/wire/ip.js";

/** TCP MSS option (RFC 9293 s3.7.1) lowered to fit the tunnel, checksum updated (RFC 1624). */

/** An IPv4 TCP segment 198.18.1.10:40000 -> 198.18.2.10:80 with the given flags and MSS option. */
function tcp4(flags: number, mss: number | undefined): Uint8Array {
  const opts = mss === undefined ? [] : [1, 1, 2, 4, mss >>> 8, mss & 0xff, 1, 1];
  const tcpLen = 20 + opts.length;
  const p = new Uint8Array(20 + tcpLen);
  p.set([0x45, 0, 0, p.length, 0, 0, 0x40, 0, 64, 6, 0, 0, 198, 18, 1, 10, 198, 18, 2, 10]);
  p.set([0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, (tcpLen / 4) << 4, flags, 0xff, 0xff, 0, 0, 0, 0, ...opts], 20);
  const c = tcpChecksum(p);
  p[36] = c >>> 8;
  p[37] = c & 0xff;
  return p;
}

/** TCP checksum over the IPv4 pseudo-header and segment (field treated as zero). */
function tcpChecksum(p: Uint8Array): number {
  const seg = p.slice(20);
  seg[16] = 0;
  seg[17] = 0;
  let sum = onesComplementSum(p, 12, 20) + 6 + seg.length;
  sum = onesComplementSum(seg, 0, seg.length, sum);
  return foldChecksum(sum);
}

describe("MSS clamping for the tunnel MTU", () => {
  const max4 = mssForMtu(1400, 4);
  const max6 = mssForMtu(1400, 6);

  it("derives 1360 (IPv4) and 1340 (IPv6) from a 1400-byte TUN MTU", () => {
    expect(max4).toBe(1360);
    expect(max6).toBe(1340);
  });

  it("lowers a SYN's MSS 1460 to 1360 and the checksum stays valid", () => {
    const p = tcp4(0x02, 1460);
    expect(clampMss(p, max4, max6)).toBe(true);
    expect((p[44] as number) * 256 + (p[45] as number)).toBe(1360);
    expect(((p[36] as number) << 8) | (p[37] as number)).toBe(tcpChecksum(p));
  });

  it("also clamps a SYN-ACK", () => {
    const p = tcp4(0x12, 8960);
    expect(clampMss(p, max4, max6)).toBe(true);
    expect((p[44] as number) * 256 + (p[45] as number)).toBe(1360);
    expect(((p[36] as number) << 8) | (p[37] as number)).toBe(tcpChecksum(p));
  });

  it("leaves a smaller MSS, a non-SYN segment and a SYN without MSS untouched", () => {
    for (const p of [tcp4(0x02, 1200), tcp4(0x10, 1460), tcp4(0x02, undefined)]) {
      const copy = Uint8Array.from(p);
      expect(clampMss(p, max4, max6)).toBe(false);
      expect(p).toEqual(copy);
    }
  });

  it("never throws on truncated or garbage input", () => {
    const p = tcp4(0x02, 1460);
    for (let n = 0; n < p.length; n++) expect(() => clampMss(p.slice(0, n), max4, max6)).not.toThrow();
    const junk = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 5) & 0xff);
    expect(() => clampMss(junk, max4, max6)).not.toThrow();
  });
});
