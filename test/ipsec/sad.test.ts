import { describe, expect, it } from "vitest";
import { getEncr } from "../../src/crypto/encr.js";
import { getInteg } from "../../src/crypto/integ.js";
import { Secret } from "../../src/crypto/secret.js";
import { LifetimeTracker } from "../../src/ipsec/lifetime.js";
import { randomIv, Sad, SecurityAssociation, sequenceIv } from "../../src/ipsec/sad.js";
import { parseIpAddress } from "../../src/wire/ip.js";
import { seededRandom } from "../../src/crypto/random.js";

const base = (direction: "inbound" | "outbound", spi = 7) => ({
  spi,
  direction,
  mode: "tunnel" as const,
  local: parseIpAddress("192.0.2.1"),
  remote: parseIpAddress("192.0.2.2"),
  now: 0,
});

describe("RFC 4301 s4.4.2 SAD", () => {
  it("inbound by SPI, outbound by policy; removal wipes the keys (design.md rule 9)", () => {
    const key = new Secret(new Uint8Array(20).fill(3));
    const inb = new SecurityAssociation({ ...base("inbound"), encr: getEncr(20, 128), encrKey: key });
    const out = new SecurityAssociation({ ...base("outbound", 8), encr: getEncr(20, 128), encrKey: new Secret(new Uint8Array(20)) });
    const sad = new Sad();
    sad.addInbound(inb);
    expect(sad.addOutbound(5, out)).toBeUndefined();
    expect(() => sad.addInbound(new SecurityAssociation({ ...base("inbound"), encr: getEncr(20, 128), encrKey: new Secret(new Uint8Array(20)) }))).toThrow(RangeError);
    expect(sad.lookupInbound(7)).toBe(inb);
    expect(sad.outboundFor(5)).toBe(out);
    expect(sad.remove(inb)).toBe(true);
    expect(key.wiped).toBe(true);
    expect(sad.lookupInbound(7)).toBeUndefined();
    expect(sad.remove(inb)).toBe(false);
    expect(sad.all()).toEqual([out]);
  });

  it("refuses inconsistent SAs: AEAD plus INTEG, CBC without a Random for IVs, mixed address families", () => {
    expect(() => new SecurityAssociation({ ...base("outbound"), encr: getEncr(20, 128), encrKey: new Secret(new Uint8Array(20)), integ: getInteg(12), integKey: new Secret(new Uint8Array(32)) })).toThrow(/AEAD/);
    expect(() => new SecurityAssociation({ ...base("outbound"), encr: getEncr(12, 128), encrKey: new Secret(new Uint8Array(16)) })).toThrow(/Random/);
    expect(() => new SecurityAssociation({ ...base("outbound"), remote: parseIpAddress("2001:db8::1"), encr: getEncr(20, 128), encrKey: new Secret(new Uint8Array(20)) })).toThrow(RangeError);
  });

  it("key material never prints", () => {
    const sa = new SecurityAssociation({ ...base("inbound"), encr: getEncr(20, 128), encrKey: new Secret(new Uint8Array(20).fill(0xab)) });
    expect(JSON.stringify(sa.counters)).not.toContain("ab");
  });
});

describe("RFC 4106 s3.1 / RFC 3602 s2.3 IV sources", () => {
  it("counter IVs are the 64-bit sequence number: unique per SA, no randomness", () => {
    const b = new Uint8Array(8);
    sequenceIv.fill(b, 0, 8, 1, 0xfffffffe);
    expect(Array.from(b)).toEqual([0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe]);
  });
  it("CBC IVs come from the injected Random, drawn in batches", () => {
    let calls = 0;
    const rng = seededRandom(1);
    const counting = { bytes: (n: number) => (calls++, rng.bytes(n)) };
    const src = randomIv(counting, 4096);
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const b = new Uint8Array(16);
      src.fill(b, 0, 16, 0, i);
      seen.add(Buffer.from(b).toString("hex"));
    }
    expect(seen.size).toBe(300);
    expect(calls).toBe(2);
  });
});

describe("RFC 4301 s4.4.2.1 lifetime tracker", () => {
  it("soft once, hard refuses further traffic, deadlines from the creation time", () => {
    const t = new LifetimeTracker({ soft: { packets: 2, seconds: 5 }, hard: { bytes: 250, seconds: 9 } }, 1000);
    expect(t.nextDeadline()).toBe(6000);
    expect(t.account(1000, 100)).toBe("ok");
    expect(t.account(1000, 100)).toBe("soft");
    expect(t.account(1000, 10)).toBe("ok");
    expect(t.nextDeadline()).toBe(10_000);
    expect(t.account(1000, 100)).toBe("hard");
    expect(t.expired).toBe(true);
    expect(t.bytes).toBe(210);
    expect(new LifetimeTracker({}, 0).nextDeadline()).toBeUndefined();
    expect(new LifetimeTracker({ hard: { seconds: 1 } }, 0).poll(1000)).toBe("hard");
  });
});
