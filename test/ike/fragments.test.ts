import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { FragmentReassembler, fragmentMessage, maxFragmentData } from "../../src/ike/fragments.js";
import { makeSkKeys, type SkKeys } from "../../src/ike/protection.js";
import { getEncr } from "../../src/crypto/encr.js";
import { getInteg } from "../../src/crypto/integ.js";
import { seededRandom } from "../../src/crypto/random.js";
import { Secret } from "../../src/crypto/secret.js";
import { EncrId, ExchangeType, HeaderFlag, IntegId, PayloadType } from "../../src/wire/ike/constants.js";
import { decodeMessage } from "../../src/wire/ike/message.js";
import type { IkeHeader, Payload } from "../../src/wire/ike/types.js";

const rng = seededRandom("fragments.test");

function header(messageId: number): IkeHeader {
  return { spiI: 0x1111222233334444n, spiR: 0x5555666677778888n, nextPayload: 0, version: 0x20, exchangeType: ExchangeType.IKE_AUTH, flags: HeaderFlag.INITIATOR, messageId, length: 0 };
}

function keys(kind: "gcm" | "cbc"): SkKeys {
  if (kind === "gcm") {
    const e = getEncr(EncrId.ENCR_AES_GCM_16, 256);
    return makeSkKeys(e, new Secret(rng.bytes(e.keymatLength)));
  }
  const e = getEncr(EncrId.ENCR_AES_CBC, 128);
  const i = getInteg(IntegId.AUTH_HMAC_SHA2_256_128);
  return makeSkKeys(e, new Secret(rng.bytes(e.keymatLength)), i, new Secret(rng.bytes(i.keyLength)));
}

/** A certificate-sized IKE_AUTH body: IDi, CERT (big), AUTH. */
function payloads(certSize: number): Payload[] {
  return [
    { type: 35, critical: false, idType: 2, reserved: new Uint8Array(3), data: new TextEncoder().encode("gw.example.com") },
    { type: 37, critical: false, encoding: 4, data: rng.bytes(certSize) },
    { type: 39, critical: false, method: 14, reserved: new Uint8Array(3), data: rng.bytes(64) },
  ];
}

const K = { gcm: keys("gcm"), cbc: keys("cbc") };

describe("RFC 7383 s2.5: fragmenting a message", () => {
  it.each([
    ["gcm", 576],
    ["gcm", 1280],
    ["cbc", 576],
    ["cbc", 300],
  ] as const)("%s, %i-byte messages: every fragment fits, fragment 1 names the first payload, others 0", (kind, size) => {
    const inner = payloads(3000);
    const frags = fragmentMessage({ header: header(1), innerPayloads: inner, keys: K[kind], maxMessageSize: size, random: rng });
    expect(frags.length).toBeGreaterThan(1);
    frags.forEach((f, i) => {
      expect(f.length).toBeLessThanOrEqual(size);
      const m = decodeMessage(f);
      expect(m.header.nextPayload).toBe(PayloadType.SKF);
      expect(m.header.messageId).toBe(1);
      const skf = m.payloads[0];
      expect(skf?.type).toBe(53);
      if (skf?.type !== 53) return;
      expect(skf.fragmentNumber).toBe(i + 1);
      expect(skf.totalFragments).toBe(frags.length);
      expect(skf.firstInner).toBe(i === 0 ? PayloadType.IDi : 0);
    });
    // All but the last fragment use the room fully (no wasted fragments).
    expect(frags.slice(0, -1).every((f) => f.length > size - 16)).toBe(true);
  });

  it("a size that leaves no room for data is a RangeError", () => {
    expect(maxFragmentData(K.gcm, 60)).toBeLessThan(1);
    expect(() => fragmentMessage({ header: header(1), innerPayloads: payloads(10), keys: K.gcm, maxMessageSize: 60, random: rng })).toThrow(RangeError);
  });
});

describe("RFC 7383 s2.6: reassembly", () => {
  function feed(r: FragmentReassembler, f: Uint8Array, k: SkKeys) {
    return r.handle(f, decodeMessage(f), k);
  }

  it("reassembles under loss, duplication and reordering (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4000 }),
        fc.integer({ min: 200, max: 900 }),
        fc.constantFrom<"gcm" | "cbc">("gcm", "cbc"),
        fc.array(fc.nat(), { minLength: 0, maxLength: 60 }),
        (certSize, size, kind, schedule) => {
          const k = K[kind];
          const inner = payloads(certSize);
          const frags = fragmentMessage({ header: header(7), innerPayloads: inner, keys: k, maxMessageSize: size, random: rng });
          const r = new FragmentReassembler({ maxFragments: 1000, maxBytes: 1 << 20 });
          // Deliver a random sequence (losses, duplicates, any order), then retransmit everything in order.
          const order = [...schedule.map((x) => x % frags.length), ...frags.map((_, i) => i)];
          const seen = new Set<number>();
          let completions = 0;
          for (const i of order) {
            const res = feed(r, frags[i] as Uint8Array, k);
            const wasNew = !seen.has(i);
            seen.add(i);
            if (res.kind === "complete") {
              completions++;
              expect(seen.size).toBe(frags.length);
              expect(res.payloads).toEqual(inner);
              expect(res.firstType).toBe(PayloadType.IDi);
              expect(res.messageId).toBe(7);
            } else if (completions === 0) {
              expect(res.kind).toBe(wasNew ? "incomplete" : "dropped");
              if (res.kind === "dropped") expect(res.reason).toBe("duplicate");
            } else {
              // After completion, late copies are reported so the engine can resend its response.
              expect(res.kind === "dropped" && res.reason).toBe("completed");
              if (res.kind === "dropped") expect(res.fragmentNumber).toBe(i + 1);
            }
          }
          expect(completions).toBe(1);
          expect(r.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("checks each fragment's ICV before storing it", () => {
    const frags = fragmentMessage({ header: header(3), innerPayloads: payloads(1500), keys: K.gcm, maxMessageSize: 576, random: rng });
    const r = new FragmentReassembler();
    const forged = (frags[0] as Uint8Array).slice();
    forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 1;
    const res = feed(r, forged, K.gcm);
    expect(res.kind === "dropped" && res.reason).toBe("integrity");
    expect(r.bufferedBytes).toBe(0);
    // The genuine fragment 1 is then accepted (the forged one did not occupy its slot).
    expect(feed(r, frags[0] as Uint8Array, K.gcm).kind).toBe("incomplete");
  });

  it("enforces the fragment count and byte limits", () => {
    const frags = fragmentMessage({ header: header(4), innerPayloads: payloads(3000), keys: K.cbc, maxMessageSize: 400, random: rng });
    const few = new FragmentReassembler({ maxFragments: frags.length - 1 });
    const r1 = feed(few, frags[0] as Uint8Array, K.cbc);
    expect(r1.kind === "dropped" && r1.reason).toBe("limit");
    const small = new FragmentReassembler({ maxBytes: 1000 });
    const results = frags.map((f) => feed(small, f, K.cbc));
    expect(results.some((x) => x.kind === "dropped" && x.reason === "limit")).toBe(true);
    expect(results.some((x) => x.kind === "complete")).toBe(false);
    expect(small.bufferedBytes).toBeLessThanOrEqual(1000);
  });

  it("a newer message ID discards the partial older message; older IDs are stale", () => {
    const m5 = fragmentMessage({ header: header(5), innerPayloads: payloads(1200), keys: K.gcm, maxMessageSize: 576, random: rng });
    const m6 = fragmentMessage({ header: header(6), innerPayloads: payloads(1200), keys: K.gcm, maxMessageSize: 576, random: rng });
    const r = new FragmentReassembler();
    feed(r, m5[0] as Uint8Array, K.gcm);
    expect(feed(r, m6[0] as Uint8Array, K.gcm).kind).toBe("incomplete");
    const stale = feed(r, m5[1] as Uint8Array, K.gcm);
    expect(stale.kind === "dropped" && stale.reason).toBe("stale");
    const done = m6.slice(1).map((f) => feed(r, f, K.gcm));
    expect(done[done.length - 1]?.kind).toBe("complete");
  });

  it("a larger Total Fragments restarts reassembly (re-fragmented for a smaller PMTU); a smaller one is discarded", () => {
    const inner = payloads(2000);
    const big = fragmentMessage({ header: header(9), innerPayloads: inner, keys: K.gcm, maxMessageSize: 1280, random: rng });
    const small = fragmentMessage({ header: header(9), innerPayloads: inner, keys: K.gcm, maxMessageSize: 576, random: rng });
    expect(small.length).toBeGreaterThan(big.length);
    const r = new FragmentReassembler();
    feed(r, big[0] as Uint8Array, K.gcm);
    expect(feed(r, small[0] as Uint8Array, K.gcm)).toMatchObject({ kind: "incomplete", received: 1, total: small.length });
    const back = feed(r, big[1] as Uint8Array, K.gcm);
    expect(back.kind === "dropped" && back.reason).toBe("inconsistent");
    const results = small.slice(1).map((f) => feed(r, f, K.gcm));
    const last = results[results.length - 1];
    expect(last?.kind === "complete" && last.payloads).toEqual(inner);
  });
});
