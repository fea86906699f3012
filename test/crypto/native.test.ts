import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { getEncr } from "../../src/crypto/encr.js";
import {
  BATCH_BAD_OFFSETS,
  BATCH_ICV_FAILURE,
  BATCH_STRIDE,
  BatchField,
  isNativeContext,
  loadNativeAddon,
  NativeAead,
  nativeEncrWrapper,
  nativeSupports,
  withNativeEncr,
  type NativeAddon,
} from "../../src/crypto/native/index.js";
import { Secret } from "../../src/crypto/secret.js";
import type { EncrAlgorithm } from "../../src/crypto/types.js";
import { decapsulate, encapsulate, openPayload, sealPayload } from "../../src/ipsec/esp.js";
import { Sad, SecurityAssociation } from "../../src/ipsec/sad.js";
import { fromHex, toHex } from "../../src/wire/hex.js";
import { encodeIpv4Header, parseIpAddress } from "../../src/wire/ip.js";
import { chachaFile, chachaSa, gcmSa, gcmVectors } from "../support/esp-aead-vectors.js";

// The native fast path (native/esp_aead.c via src/crypto/native/) against the pure node:crypto
// transforms of src/crypto/encr.ts and the published ESP vectors:
//   /work/shared/vectors/esp/draft-mcgrew-gcm-test-01-aes-gcm-esp.json (RFC 4106 AES-GCM ESP)
//   /work/shared/vectors/esp/rfc7634-chacha20-poly1305-esp.json (RFC 7634 Appendix A)
// The addon is built by `npm ci` (binding.gyp); these tests require it and fail loudly without it.

function requireAddon(): NativeAddon {
  const addon = loadNativeAddon();
  if (addon === undefined) throw new Error("build/Release/tsipsec_native.node is missing or does not load: run `npm ci` (node-gyp rebuild)");
  return addon;
}
const addon = requireAddon();

/** The transforms the addon implements: [ENCR id, key bits]. */
const NATIVE_ENCRS: readonly (readonly [number, number | undefined])[] = [
  [20, 128],
  [20, 192],
  [20, 256],
  [19, 128],
  [18, 256],
  [28, undefined],
];

describe("loader: the pure path is selected automatically when the addon is absent", () => {
  it("a missing .node file gives undefined (no throw) and reports why", () => {
    const reasons: string[] = [];
    const missing = loadNativeAddon({ paths: ["/nonexistent/tsipsec/build/Release/tsipsec_native.node"], onError: (_p, r) => reasons.push(r) });
    expect(missing).toBeUndefined();
    expect(reasons).toHaveLength(1);
  });

  it("a module that loads but is not the addon is refused", () => {
    // package.json loads (as JSON) but has none of the addon's functions.
    const path = new URL("../../package.json", import.meta.url).pathname;
    const reasons: string[] = [];
    expect(loadNativeAddon({ paths: [path], onError: (_p, r) => reasons.push(r) })).toBeUndefined();
    expect(reasons).toEqual(["not the tsipsec addon (functions missing)"]);
  });

  it("without an addon, withNativeEncr returns the pure transform itself, which still works", () => {
    const pure = getEncr(20, 128);
    const wrapped = withNativeEncr(pure, undefined);
    expect(wrapped).toBe(pure);
    const ctx = wrapped.create(new Secret(new Uint8Array(20).fill(7)));
    expect(isNativeContext(ctx)).toBe(false);
    const iv = new Uint8Array(8).fill(1);
    const sealed = ctx.encrypt(iv, new Uint8Array([1, 2, 3]), new Uint8Array(8));
    expect(Array.from(ctx.decrypt(iv, sealed, new Uint8Array(8)) ?? [])).toEqual([1, 2, 3]);
  });

  it("the build found by default is Node's own OpenSSL", () => {
    expect(addon.opensslVersion()).toContain(process.versions.openssl);
  });

  it("transforms the addon does not implement (CBC, CTR, CCM, GMAC, NULL) stay on the pure path", () => {
    for (const e of [getEncr(12, 128), getEncr(13, 128), getEncr(16, 128), getEncr(21, 128), getEncr(11)]) {
      expect(nativeSupports(e)).toBe(false);
      expect(withNativeEncr(e, addon)).toBe(e);
    }
    for (const [id, bits] of NATIVE_ENCRS) {
      const e = getEncr(id, bits);
      expect(nativeSupports(e)).toBe(true);
      const n = nativeEncrWrapper(addon)(e);
      expect(n).not.toBe(e);
      expect({ ...n, create: undefined }).toEqual({ ...e, create: undefined });
      expect(isNativeContext(n.create(new Secret(new Uint8Array(e.keymatLength))))).toBe(true);
    }
  });
});

describe("RFC 4106 / RFC 7634: native and pure paths give identical bytes", () => {
  for (const [id, bits] of NATIVE_ENCRS) {
    const pure = getEncr(id, bits);
    const native = withNativeEncr(pure, addon);
    it(`${pure.name}: same ciphertext || ICV for the same key, IV, AAD; each opens the other's`, () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: pure.keymatLength, maxLength: pure.keymatLength }),
          fc.uint8Array({ minLength: 8, maxLength: 8 }),
          fc.uint8Array({ minLength: 0, maxLength: 1600 }),
          fc.constantFrom(0, 8, 12),
          (keymat, iv, plaintext, aadLength) => {
            const aad = keymat.subarray(0, Math.min(aadLength, keymat.length));
            const p = pure.create(new Secret(keymat.slice()));
            const n = native.create(new Secret(keymat.slice()));
            const a = p.encrypt(iv, plaintext, aad);
            const b = n.encrypt(iv, plaintext, aad);
            expect(toHex(b)).toBe(toHex(a));
            expect(toHex(n.decrypt(iv, a, aad) ?? new Uint8Array([0xde, 0xad]))).toBe(toHex(plaintext));
            expect(toHex(p.decrypt(iv, b, aad) ?? new Uint8Array([0xde, 0xad]))).toBe(toHex(plaintext));
          },
        ),
        { numRuns: 150 },
      );
    });

    it(`${pure.name}: any flipped bit of ciphertext or ICV, a wrong AAD or IV, or a short input is rejected (null)`, () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: pure.keymatLength, maxLength: pure.keymatLength }),
          fc.uint8Array({ minLength: 1, maxLength: 300 }),
          fc.nat(),
          (keymat, plaintext, pick) => {
            const n = native.create(new Secret(keymat));
            const iv = new Uint8Array(8).fill(3);
            const aad = new Uint8Array([1, 2, 3, 4, 0, 0, 0, 9]);
            const sealed = n.encrypt(iv, plaintext, aad);
            const bit = pick % (sealed.length * 8);
            const bad = sealed.slice();
            bad[bit >>> 3]! ^= 1 << (bit & 7);
            expect(n.decrypt(iv, bad, aad)).toBeNull();
            const badAad = aad.slice();
            badAad[pick % 8]! ^= 0x40;
            expect(n.decrypt(iv, sealed, badAad)).toBeNull();
            const badIv = iv.slice();
            badIv[pick % 8]! ^= 0x01;
            expect(n.decrypt(badIv, sealed, aad)).toBeNull();
            expect(n.decrypt(iv, sealed.subarray(0, pure.icvLength - 1), aad)).toBeNull();
            expect(n.decrypt(iv.subarray(0, 7), sealed, aad)).toBeNull();
          },
        ),
        { numRuns: 100 },
      );
    });
  }
});

const nativeEncr = (pure: EncrAlgorithm): EncrAlgorithm => withNativeEncr(pure, addon);

describe("RFC 4106 s3-s5 AES-GCM ESP on the native path (draft-mcgrew-gcm-test-01)", () => {
  for (const v of gcmVectors) {
    it(`${v.id} (AES-${v.aes_key_bits}${v.esn ? ", ESN" : ""}): seal gives expected_esp_packet, open gives the plaintext, a flipped ICV bit is rejected`, () => {
      const out = gcmSa(v, "outbound", { encr: nativeEncr });
      expect(isNativeContext(out.encrContext!)).toBe(true);
      const pt = fromHex(v.plaintext);
      const payload = pt.subarray(0, pt.length - 2 - Number(v.plaintext_pad_length));
      const esp = sealPayload(out, payload, Number(v.plaintext_next_header));
      expect(typeof esp).not.toBe("string");
      expect(toHex(esp as Uint8Array)).toBe(v.expected_esp_packet);

      const opened = openPayload(gcmSa(v, "inbound", { encr: nativeEncr }), fromHex(v.expected_esp_packet));
      if (typeof opened === "string") throw new Error(opened);
      expect(toHex(opened.plaintext)).toBe(v.plaintext);
      expect(opened.nextHeader).toBe(Number(v.plaintext_next_header));

      const bad = fromHex(v.expected_esp_packet);
      bad[bad.length - 1]! ^= 0x01;
      expect(openPayload(gcmSa(v, "inbound", { encr: nativeEncr }), bad)).toBe("ICV_FAILURE");
    });
  }
});

describe("RFC 7634 Appendix A ChaCha20-Poly1305 ESP on the native path", () => {
  for (const v of chachaFile.vectors) {
    const mk = (direction: "inbound" | "outbound"): SecurityAssociation => chachaSa(v, direction, { encr: nativeEncr });
    it(`${v.id}: encapsulate gives expected_esp_packet; decapsulate gives the inner packet; tampering fails`, () => {
      expect(toHex(encapsulate(mk("outbound"), fromHex(v.inner_ip_packet)) as Uint8Array)).toBe(v.expected_esp_packet);
      expect(toHex(decapsulate(mk("inbound"), fromHex(v.expected_esp_packet)) as Uint8Array)).toBe(v.inner_ip_packet);
      const bad = fromHex(v.expected_esp_packet);
      bad[bad.length - 20]! ^= 0x80;
      expect(decapsulate(mk("inbound"), bad)).toBe("ICV_FAILURE");
    });
  }
});

describe("RFC 4303 s3.3/s3.4 through the data plane: one gateway native, the peer pure", () => {
  it("tunnel-mode packets of every size round-trip in both directions", () => {
    const a = parseIpAddress("192.0.2.1");
    const b = parseIpAddress("192.0.2.2");
    for (const [id, bits] of NATIVE_ENCRS) {
      const pure = getEncr(id, bits);
      const keymat = new Uint8Array(pure.keymatLength).map((_, i) => i * 7 + 1);
      const sa = (encr: typeof pure, direction: "inbound" | "outbound"): SecurityAssociation =>
        new SecurityAssociation({ spi: 0x4242, direction, mode: "tunnel", encr, encrKey: new Secret(keymat.slice()), local: direction === "outbound" ? a : b, remote: direction === "outbound" ? b : a, now: 0 });
      const nativeOut = sa(withNativeEncr(pure, addon), "outbound");
      const pureIn = sa(pure, "inbound");
      const pureOut = sa(pure, "outbound");
      const nativeIn = sa(withNativeEncr(pure, addon), "inbound");
      for (const size of [20, 21, 64, 511, 1408, 1500]) {
        const pkt = new Uint8Array(size).map((_, i) => i & 0xff);
        encodeIpv4Header(pkt, 0, { totalLength: size, protocol: 17, src: 0xc612010a, dst: 0xc612020a });
        const e1 = encapsulate(nativeOut, pkt);
        const e2 = encapsulate(pureOut, pkt);
        if (typeof e1 === "string" || typeof e2 === "string") throw new Error("encapsulate failed");
        expect(toHex(e1)).toBe(toHex(e2)); // same keys, same sequence-number IVs
        expect(toHex(decapsulate(pureIn, e1) as Uint8Array)).toBe(toHex(pkt));
        expect(toHex(decapsulate(nativeIn, e2) as Uint8Array)).toBe(toHex(pkt));
      }
    }
  });
});

describe("scratchOutput: results are views into one buffer per context and direction", () => {
  it("same bytes as fresh outputs; the next call on the context reuses the buffer", () => {
    const pure = getEncr(20, 128);
    const keymat = new Uint8Array(20).fill(9);
    const fresh = withNativeEncr(pure, addon).create(new Secret(keymat.slice()));
    const scratch = withNativeEncr(pure, addon, { scratchOutput: true }).create(new Secret(keymat.slice()));
    const iv = new Uint8Array(8).fill(2);
    const aad = new Uint8Array(8);
    const a = scratch.encrypt(iv, new Uint8Array(100).fill(1), aad);
    const aHex = toHex(a);
    expect(aHex).toBe(toHex(fresh.encrypt(iv, new Uint8Array(100).fill(1), aad)));
    const b = scratch.encrypt(iv, new Uint8Array(100).fill(2), aad);
    expect(b.buffer).toBe(a.buffer); // documented: valid until the next call
    expect(toHex(a)).not.toBe(aHex);
    const opened = scratch.decrypt(iv, b, aad);
    expect(toHex(opened ?? new Uint8Array(0))).toBe(toHex(new Uint8Array(100).fill(2)));
    expect(opened?.buffer).not.toBe(b.buffer); // open and seal have separate buffers
    // A payload larger than the scratch cap gets a fresh array.
    const big = scratch.encrypt(iv, new Uint8Array(0x10000 + 600), aad);
    expect(big.buffer).not.toBe(b.buffer);
    expect(toHex(big)).toBe(toHex(fresh.encrypt(iv, new Uint8Array(0x10000 + 600), aad)));
  });
});

describe("batch API: many packets per call into one buffer", () => {
  const encr = getEncr(20, 128);
  const keymat = new Uint8Array(20).map((_, i) => 0xa0 + i);
  const SLOT = 2048;

  /** count packets of `sizes` laid out one per SLOT: IV at 0, AAD (8) at 8, payload at 16, output in place. */
  function layout(sizes: readonly number[]): { buf: Uint8Array; desc: Int32Array } {
    const buf = new Uint8Array(SLOT * sizes.length);
    const desc = new Int32Array(BATCH_STRIDE * sizes.length);
    sizes.forEach((size, i) => {
      const o = i * SLOT;
      for (let k = 0; k < 8; k++) buf[o + k] = i + k;
      for (let k = 0; k < 8; k++) buf[o + 8 + k] = 0x10 + k;
      for (let k = 0; k < size; k++) buf[o + 16 + k] = (k * 31 + i) & 0xff;
      const d = i * BATCH_STRIDE;
      desc[d + BatchField.IV_OFFSET] = o;
      desc[d + BatchField.AAD_OFFSET] = o + 8;
      desc[d + BatchField.AAD_LENGTH] = 8;
      desc[d + BatchField.INPUT_OFFSET] = o + 16;
      desc[d + BatchField.INPUT_LENGTH] = size;
      desc[d + BatchField.OUTPUT_OFFSET] = o + 16;
    });
    return { buf, desc };
  }

  it("sealBatch in place equals one pure encrypt per packet; openBatch restores every packet", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1500 }), { minLength: 1, maxLength: 40 }), (sizes) => {
        const { buf, desc } = layout(sizes);
        const original = buf.slice();
        const aead = NativeAead.create(addon, encr, new Secret(keymat.slice()));
        const pure = encr.create(new Secret(keymat.slice()));
        expect(aead.sealBatch(buf, desc, sizes.length)).toBe(sizes.length);
        sizes.forEach((size, i) => {
          const o = i * SLOT;
          expect(desc[i * BATCH_STRIDE + BatchField.STATUS]).toBe(size + 16);
          const want = pure.encrypt(original.subarray(o, o + 8), original.subarray(o + 16, o + 16 + size), original.subarray(o + 8, o + 16));
          expect(toHex(buf.subarray(o + 16, o + 16 + size + 16))).toBe(toHex(want));
          desc[i * BATCH_STRIDE + BatchField.INPUT_LENGTH] = size + 16;
        });
        expect(aead.openBatch(buf, desc, sizes.length)).toBe(sizes.length);
        sizes.forEach((size, i) => {
          const o = i * SLOT;
          expect(desc[i * BATCH_STRIDE + BatchField.STATUS]).toBe(size);
          expect(toHex(buf.subarray(o + 16, o + 16 + size))).toBe(toHex(original.subarray(o + 16, o + 16 + size)));
        });
        aead.dispose();
      }),
      { numRuns: 50 },
    );
  });

  it("a bad ICV fails only its own packet (status -1, output wiped); bad offsets give -2 and touch nothing", () => {
    const sizes = [100, 200, 300, 400];
    const { buf, desc } = layout(sizes);
    const aead = NativeAead.create(addon, encr, new Secret(keymat.slice()));
    aead.sealBatch(buf, desc, 4);
    sizes.forEach((size, i) => (desc[i * BATCH_STRIDE + BatchField.INPUT_LENGTH] = size + 16));
    buf[1 * SLOT + 16 + 200 + 3]! ^= 0x01; // packet 1's ICV
    desc[3 * BATCH_STRIDE + BatchField.INPUT_OFFSET] = buf.length - 10; // packet 3 runs off the end
    const before3 = buf.slice(3 * SLOT, 4 * SLOT);
    expect(aead.openBatch(buf, desc, 4)).toBe(2);
    expect(desc[0 * BATCH_STRIDE + BatchField.STATUS]).toBe(100);
    expect(desc[1 * BATCH_STRIDE + BatchField.STATUS]).toBe(BATCH_ICV_FAILURE);
    expect(buf.subarray(SLOT + 16, SLOT + 16 + 200).every((x) => x === 0)).toBe(true);
    expect(desc[2 * BATCH_STRIDE + BatchField.STATUS]).toBe(300);
    expect(desc[3 * BATCH_STRIDE + BatchField.STATUS]).toBe(BATCH_BAD_OFFSETS);
    expect(toHex(buf.slice(3 * SLOT, 4 * SLOT))).toBe(toHex(before3));
    aead.dispose();
  });

  it("a count beyond the descriptor array, or a non-Int32Array descriptor, is a caller bug (TypeError)", () => {
    const aead = NativeAead.create(addon, encr, new Secret(keymat.slice()));
    const { buf, desc } = layout([10]);
    expect(() => aead.sealBatch(buf, desc, 2)).toThrow(TypeError);
    expect(() => aead.sealBatch(buf, new Uint32Array(8) as unknown as Int32Array, 1)).toThrow(TypeError);
    aead.dispose();
  });
});

describe("key lifetime (design.md rule 9): keys are wiped on dispose", () => {
  it("a disposed context refuses to work; dispose is idempotent", () => {
    const encr = getEncr(28);
    const aead = NativeAead.create(addon, encr, new Secret(new Uint8Array(36).fill(5)));
    const out = new Uint8Array(32);
    expect(aead.seal(new Uint8Array(8), new Uint8Array(16), new Uint8Array(8), out)).toBe(32);
    aead.dispose();
    aead.dispose();
    expect(() => aead.seal(new Uint8Array(8), new Uint8Array(16), new Uint8Array(8), out)).toThrow(/after dispose/);
  });

  it("removing the SA from the SAD erases the key inside OpenSSL at once (EncrContext.dispose)", () => {
    const sa = new SecurityAssociation({
      spi: 0x5151,
      direction: "outbound",
      mode: "tunnel",
      encr: withNativeEncr(getEncr(20, 128), addon),
      encrKey: new Secret(new Uint8Array(20).fill(1)),
      local: parseIpAddress("192.0.2.1"),
      remote: parseIpAddress("192.0.2.2"),
      now: 0,
    });
    const sad = new Sad();
    sad.addOutbound(1, sa);
    const ctx = sa.encrContext!;
    expect(ctx.encrypt(new Uint8Array(8), new Uint8Array(4), new Uint8Array(8)).length).toBe(20);
    expect(sad.remove(sa)).toBe(true);
    expect(() => ctx.encrypt(new Uint8Array(8), new Uint8Array(4), new Uint8Array(8))).toThrow(/after dispose/);
  });

  it("the addon itself refuses a freed handle (TypeError), never touches freed memory", () => {
    const h = addon.create(0, new Uint8Array(16), new Uint8Array(4), 16);
    addon.free(h);
    expect(() => addon.seal(h, new Uint8Array(8), new Uint8Array(1), new Uint8Array(0), new Uint8Array(17))).toThrow(TypeError);
  });

  it("KEYMAT of the wrong length and unsupported transforms are refused with CryptoError", () => {
    expect(() => NativeAead.create(addon, getEncr(20, 128), new Secret(new Uint8Array(16)))).toThrow(/KEYMAT is 16 bytes/);
    expect(() => NativeAead.create(addon, getEncr(12, 128), new Secret(new Uint8Array(16)))).toThrow(/no native implementation/);
  });

  it("argument errors are TypeErrors: short output, wrong IV length", () => {
    const h = addon.create(1, new Uint8Array(32), new Uint8Array(4), 16);
    expect(() => addon.seal(h, new Uint8Array(8), new Uint8Array(10), new Uint8Array(0), new Uint8Array(25))).toThrow(TypeError);
    expect(() => addon.seal(h, new Uint8Array(12), new Uint8Array(10), new Uint8Array(0), new Uint8Array(26))).toThrow(TypeError);
    expect(() => addon.create(1, new Uint8Array(16), new Uint8Array(4), 16)).toThrow(TypeError);
    expect(() => addon.create(0, new Uint8Array(16), new Uint8Array(4), 4)).toThrow(TypeError);
    addon.free(h);
  });
});
