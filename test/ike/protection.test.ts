import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { decryptSk, decryptSkf, encryptSk, encryptSkf, makeSkKeys, skOverhead, type SkKeys } from "../../src/ike/protection.js";
import { getEncr } from "../../src/crypto/encr.js";
import { getInteg, supportedIntegIds } from "../../src/crypto/integ.js";
import { seededRandom } from "../../src/crypto/random.js";
import { Secret } from "../../src/crypto/secret.js";
import { EncrId, ExchangeType, HeaderFlag, IntegId, integIdName, PayloadType } from "../../src/wire/ike/constants.js";
import { isDecodeError } from "../../src/wire/errors.js";
import { decodeMessage } from "../../src/wire/ike/message.js";
import type { IkeHeader, Payload } from "../../src/wire/ike/types.js";

const rng = seededRandom("protection.test");

const header: IkeHeader = {
  spiI: 0x0123456789abcdefn,
  spiR: 0xfedcba9876543210n,
  nextPayload: 0,
  version: 0x20,
  exchangeType: ExchangeType.IKE_AUTH,
  flags: HeaderFlag.INITIATOR,
  messageId: 1,
  length: 0,
};

const inner: Payload[] = [
  { type: 35, critical: false, idType: 2, reserved: new Uint8Array(3), data: new TextEncoder().encode("gw.example.com") },
  { type: 39, critical: false, method: 2, reserved: new Uint8Array(3), data: rng.bytes(32) },
  { type: 41, critical: false, protocol: 0, notifyType: 16384, spi: new Uint8Array(0), data: new Uint8Array(0) },
];

type EncrCase = [name: string, id: number, bits: number | undefined];
const CLASSIC: EncrCase[] = [
  ["AES_CBC_128", EncrId.ENCR_AES_CBC, 128],
  ["AES_CBC_192", EncrId.ENCR_AES_CBC, 192],
  ["AES_CBC_256", EncrId.ENCR_AES_CBC, 256],
  ["AES_CTR_128", EncrId.ENCR_AES_CTR, 128],
  ["AES_CTR_256", EncrId.ENCR_AES_CTR, 256],
  ["3DES", EncrId.ENCR_3DES, undefined],
  ["NULL", EncrId.ENCR_NULL, undefined],
];
const AEAD: EncrCase[] = [
  ...[128, 192, 256].flatMap((b): EncrCase[] => [
    [`AES_GCM_8_${b}`, EncrId.ENCR_AES_GCM_8, b],
    [`AES_GCM_12_${b}`, EncrId.ENCR_AES_GCM_12, b],
    [`AES_GCM_16_${b}`, EncrId.ENCR_AES_GCM_16, b],
    [`AES_CCM_8_${b}`, EncrId.ENCR_AES_CCM_8, b],
    [`AES_CCM_12_${b}`, EncrId.ENCR_AES_CCM_12, b],
    [`AES_CCM_16_${b}`, EncrId.ENCR_AES_CCM_16, b],
  ]),
  ["CHACHA20_POLY1305", EncrId.ENCR_CHACHA20_POLY1305, undefined],
];

function keysFor(id: number, bits: number | undefined, integId?: number): SkKeys {
  const encr = getEncr(id, bits);
  const integ = integId === undefined ? undefined : getInteg(integId);
  return makeSkKeys(encr, new Secret(rng.bytes(encr.keymatLength)), integ, integ ? new Secret(rng.bytes(integ.keyLength)) : undefined);
}

const combos: Array<[string, SkKeys]> = [
  ...CLASSIC.flatMap(([n, id, bits]) => supportedIntegIds.map((i): [string, SkKeys] => [`${n} + ${integIdName(i)}`, keysFor(id, bits, i)])),
  ...AEAD.map(([n, id, bits]): [string, SkKeys] => [n, keysFor(id, bits)]),
];

function flip(bytes: Uint8Array, at: number, bit = 0): Uint8Array {
  const b = bytes.slice();
  b[at] = (b[at] as number) ^ (1 << bit);
  return b;
}

/** Rejected: either the flipped bytes no longer parse as a message, or SK does not verify. */
function rejected(bytes: Uint8Array, keys: SkKeys): boolean {
  let msg;
  try {
    msg = decodeMessage(bytes);
  } catch (e) {
    if (isDecodeError(e)) return true;
    throw e;
  }
  const r = decryptSk(bytes, msg, keys);
  return !r.ok;
}

describe("RFC 7296 s3.14 (and RFC 5282 for AEAD): SK round trips for every ENCR/INTEG combination", () => {
  it.each(combos)("%s", (_name, keys) => {
    const iv = rng.bytes(keys.encr.alg.ivLength);
    const bytes = encryptSk({ header, innerPayloads: inner, keys, iv });
    const msg = decodeMessage(bytes);
    expect(msg.header.length).toBe(bytes.length);
    expect(msg.header.nextPayload).toBe(PayloadType.SK);
    expect(msg.payloads.length).toBe(1);
    const r = decryptSk(bytes, msg, keys);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.payloads).toEqual(inner);
    // Padded plaintext is block-aligned (s3.14) and the overhead matches skOverhead().
    const o = skOverhead(keys);
    const ctLen = bytes.length - 28 - o.fixed + 1 - r.inner.length;
    expect((r.inner.length + 1 + r.padLength) % o.blockSize).toBe(0);
    expect(ctLen).toBe(r.padLength + 1);
    // A flipped bit anywhere from the header to the ICV is rejected (except the length fields, whose
    // change makes the message undecodable).
    for (const at of [0, 8, 18, 19, 22, 28, 29, 32, 32 + keys.encr.alg.ivLength, bytes.length - 20, bytes.length - 1]) {
      expect(rejected(flip(bytes, at), keys), `flip at ${at}`).toBe(true);
    }
  });

  it("every bit flip is rejected (property, AES-CBC-128 + HMAC-SHA2-256-128 and AES-GCM-16-256)", () => {
    const pairs = [keysFor(EncrId.ENCR_AES_CBC, 128, IntegId.AUTH_HMAC_SHA2_256_128), keysFor(EncrId.ENCR_AES_GCM_16, 256)];
    for (const keys of pairs) {
      const bytes = encryptSk({ header, innerPayloads: inner, keys, iv: rng.bytes(keys.encr.alg.ivLength) });
      fc.assert(
        fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 0, max: 7 }), (at, bit) => rejected(flip(bytes, at, bit), keys)),
        { numRuns: 300 },
      );
    }
  });

  it("keys of the other direction do not open the message", () => {
    const a = keysFor(EncrId.ENCR_AES_CBC, 256, IntegId.AUTH_HMAC_SHA2_512_256);
    const b = keysFor(EncrId.ENCR_AES_CBC, 256, IntegId.AUTH_HMAC_SHA2_512_256);
    const bytes = encryptSk({ header, innerPayloads: inner, keys: a, iv: rng.bytes(16) });
    const r = decryptSk(bytes, decodeMessage(bytes), b);
    expect(r.ok === false && r.reason).toBe("integrity");
  });

  it("an explicit pad length is honoured and a bad pad length inside a valid ICV is reported", () => {
    const keys = keysFor(EncrId.ENCR_AES_GCM_16, 128);
    const bytes = encryptSk({ header, innerPayloads: inner, keys, iv: rng.bytes(8), padLength: 7 });
    const r = decryptSk(bytes, decodeMessage(bytes), keys);
    expect(r.ok && r.padLength).toBe(7);
    // With ENCR_NULL the plaintext is visible: set Pad Length to 255 over a 2-byte plaintext and
    // recompute the ICV, so the message authenticates but its padding is impossible.
    const nullKeys = keysFor(EncrId.ENCR_NULL, undefined, IntegId.AUTH_HMAC_SHA2_256_128);
    const tiny = encryptSk({ header, innerPayloads: { firstType: 0, bytes: new Uint8Array([0xaa]) }, keys: nullKeys, iv: new Uint8Array(0) });
    const icvAt = tiny.length - 16;
    tiny[icvAt - 1] = 255;
    tiny.set(nullKeys.integ!.ctx.compute(tiny.subarray(0, icvAt)), icvAt);
    const rt = decryptSk(tiny, decodeMessage(tiny), nullKeys);
    expect(rt.ok === false && rt.reason).toBe("padding");
  });

  it("an inner chain that does not parse is a syntax failure after a valid ICV (the engine answers INVALID_SYNTAX)", () => {
    const keys = keysFor(EncrId.ENCR_AES_CBC, 128, IntegId.AUTH_HMAC_SHA1_96);
    const bytes = encryptSk({ header, innerPayloads: { firstType: PayloadType.NOTIFY, bytes: new Uint8Array([0, 0, 0, 50, 1, 2]) }, keys, iv: rng.bytes(16) });
    const r = decryptSk(bytes, decodeMessage(bytes), keys);
    expect(r.ok === false && r.reason).toBe("syntax");
  });

  it("a message without SK is reported, not thrown", () => {
    const keys = keysFor(EncrId.ENCR_AES_GCM_16, 128);
    const r = decryptSk(new Uint8Array(28), { header, payloads: [] }, keys);
    expect(r.ok === false && r.reason).toBe("missing");
  });
});

describe("RFC 7383 s2.5: SKF protection covers the Fragment Number and Total Fragments", () => {
  it.each([
    ["AES_GCM_16_256", keysFor(EncrId.ENCR_AES_GCM_16, 256)],
    ["AES_CBC_128 + HMAC_SHA2_256_128", keysFor(EncrId.ENCR_AES_CBC, 128, IntegId.AUTH_HMAC_SHA2_256_128)],
  ])("%s: round trip, and changed fragment numbers are rejected", (_n, keys) => {
    const fragment = rng.bytes(100);
    const bytes = encryptSkf({ header, firstType: 0, fragmentNumber: 2, totalFragments: 3, fragment, keys, iv: rng.bytes(keys.encr.alg.ivLength) });
    const msg = decodeMessage(bytes);
    const r = decryptSkf(bytes, msg, keys);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect([r.fragmentNumber, r.totalFragments, r.firstType]).toEqual([2, 3, 0]);
    expect(r.fragment).toEqual(fragment);
    // Bytes 32..35 are Fragment Number and Total Fragments (after the 28-byte header and 4-byte generic header).
    for (const at of [33, 35]) {
      const b = flip(bytes, at);
      expect(decryptSkf(b, decodeMessage(b), keys).ok).toBe(false);
    }
    expect(decryptSk(bytes, msg, keys).ok).toBe(false);
  });
});

describe("RFC 7296 s2.21.2: protected messages from an attacker never throw", () => {
  it("random mutations and truncations give DecodeError or a failure value (property)", () => {
    const keysList = [keysFor(EncrId.ENCR_AES_CBC, 128, IntegId.AUTH_HMAC_SHA1_96), keysFor(EncrId.ENCR_CHACHA20_POLY1305, undefined)];
    for (const keys of keysList) {
      const bytes = encryptSk({ header, innerPayloads: inner, keys, iv: rng.bytes(keys.encr.alg.ivLength) });
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }),
          fc.nat(),
          (edits, cut) => {
            const b = bytes.slice(0, 28 + (cut % (bytes.length - 27)));
            for (const [at, x] of edits) b[at % b.length] = (b[at % b.length] as number) ^ x;
            // Keep the header length consistent so decoding reaches the SK payload more often.
            new DataView(b.buffer).setUint32(24, b.length);
            // Two edits at one offset can cancel out; an untouched message must of course verify.
            if (b.length === bytes.length && b.every((v, i) => v === bytes[i])) return decryptSk(b, decodeMessage(b), keys).ok;
            let msg;
            try {
              msg = decodeMessage(b);
            } catch (e) {
              return isDecodeError(e);
            }
            const r = decryptSk(b, msg, keys);
            return r.ok === false;
          },
        ),
        { numRuns: 300 },
      );
    }
  });
});
