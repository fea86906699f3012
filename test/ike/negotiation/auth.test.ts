import { describe, it, expect } from "vitest";
import {
  encodeIdentity,
  formatIdentity,
  idPayloadBody,
  identitiesEqual,
  IdentityError,
  parseIdentity,
  pskAuthData,
  signedOctets,
  verifyPskAuth,
} from "../../../src/ike/negotiation/auth.js";
import { getPrf } from "../../../src/crypto/prf.js";
import { Secret } from "../../../src/crypto/secret.js";
import { IdType, PrfId } from "../../../src/wire/ike/constants.js";
import { toHex } from "../../../src/wire/hex.js";
import { isIkeError } from "../../../src/ike/errors.js";

const range = (a: number, b: number): Uint8Array => Uint8Array.from({ length: b - a }, (_, i) => a + i);

describe("RFC 7296 s2.15: shared-key AUTH", () => {
  // Expected value computed independently with Python hmac/hashlib (HMAC-SHA-256):
  // prf(prf(psk, "Key Pad for IKEv2"), RealMessage | Nonce | prf(SK_p, 02000000 "gw.example.com")).
  const prf = getPrf(PrfId.PRF_HMAC_SHA2_256);
  const real = range(0, 40);
  const nonce = range(100, 132);
  const skP = new Secret(range(200, 232));
  const idBody = idPayloadBody(IdType.ID_FQDN, new TextEncoder().encode("gw.example.com"));
  const psk = Secret.fromUtf8("tsipsec-test-psk");
  const expected = "347f8b63299fd0d9232a68811b1d9adff1b8706fd73e3e76d9820f653d9edb31";

  it("RestOfIDPayload is ID Type | 3 reserved | data", () => {
    expect(toHex(idBody)).toBe("02000000" + Buffer.from("gw.example.com").toString("hex"));
  });
  it("AUTH = prf(prf(psk, \"Key Pad for IKEv2\"), SignedOctets)", () => {
    const so = signedOctets(real, nonce, prf, skP, idBody);
    expect(so.length).toBe(40 + 32 + 32);
    expect(toHex(pskAuthData(prf, psk, so))).toBe(expected);
  });
  it("the padded key is kept per PSK and per PRF: repeated, interleaved and other-PRF AUTHs equal the two-step definition", () => {
    const so = signedOctets(real, nonce, prf, skP, idBody);
    const sha1 = getPrf(PrfId.PRF_HMAC_SHA1);
    const direct = (p: typeof prf, key: Secret): string => toHex(p.compute(p.compute(key.expose(), new TextEncoder().encode("Key Pad for IKEv2")), so));
    const other = Secret.fromUtf8("another-psk");
    for (let i = 0; i < 3; i++) {
      expect(toHex(pskAuthData(prf, psk, so))).toBe(expected);
      expect(toHex(pskAuthData(sha1, psk, so))).toBe(direct(sha1, psk));
      expect(toHex(pskAuthData(prf, other, so))).toBe(direct(prf, other));
    }
    // Same bytes, new Secret object (a reload): same value.
    expect(toHex(pskAuthData(prf, Secret.fromUtf8("tsipsec-test-psk"), so))).toBe(expected);
  });
  it("a wiped PSK is refused even after its padded key was computed", () => {
    const so = signedOctets(real, nonce, prf, skP, idBody);
    const k = Secret.fromUtf8("to-be-wiped");
    pskAuthData(prf, k, so);
    k.wipe();
    expect(() => pskAuthData(prf, k, so)).toThrow(/wipe/);
  });
  it("verifyPskAuth accepts the right value and rejects a flipped bit, a wrong PSK, a truncated value", () => {
    const so = signedOctets(real, nonce, prf, skP, idBody);
    const auth = pskAuthData(prf, psk, so);
    expect(verifyPskAuth(prf, psk, so, auth)).toBe(true);
    const flipped = auth.slice();
    flipped[5] = (flipped[5] as number) ^ 1;
    expect(verifyPskAuth(prf, psk, so, flipped)).toBe(false);
    expect(verifyPskAuth(prf, Secret.fromUtf8("other"), so, auth)).toBe(false);
    expect(verifyPskAuth(prf, psk, so, auth.subarray(0, 16))).toBe(false);
    // The ID is covered: another identity gives another AUTH.
    const so2 = signedOctets(real, nonce, prf, skP, idPayloadBody(IdType.ID_FQDN, new TextEncoder().encode("gw.example.org")));
    expect(verifyPskAuth(prf, psk, so2, auth)).toBe(false);
  });
});

describe("RFC 7296 s3.5: identities", () => {
  const table: Array<[string, number, string, string]> = [
    ["192.0.2.1", IdType.ID_IPV4_ADDR, "c0000201", "192.0.2.1"],
    ["2001:db8::1", IdType.ID_IPV6_ADDR, "20010db8000000000000000000000001", "2001:db8::1"],
    ["gw.example.com", IdType.ID_FQDN, Buffer.from("gw.example.com").toString("hex"), "gw.example.com"],
    ["@gw.example.com", IdType.ID_FQDN, Buffer.from("gw.example.com").toString("hex"), "gw.example.com"],
    ["@192.0.2.1", IdType.ID_FQDN, Buffer.from("192.0.2.1").toString("hex"), "192.0.2.1"],
    ["user@example.com", IdType.ID_RFC822_ADDR, Buffer.from("user@example.com").toString("hex"), "user@example.com"],
    ["@#0123abcd", IdType.ID_KEY_ID, "0123abcd", "@#0123abcd"],
    ["keyid:#0123abcd", IdType.ID_KEY_ID, "0123abcd", "@#0123abcd"],
    ["keyid:roadwarrior", IdType.ID_KEY_ID, Buffer.from("roadwarrior").toString("hex"), "keyid:roadwarrior"],
    ["fqdn:user@example.com", IdType.ID_FQDN, Buffer.from("user@example.com").toString("hex"), "user@example.com"],
    ["email:west", IdType.ID_RFC822_ADDR, Buffer.from("west").toString("hex"), "west"],
  ];
  it.each(table)("encodeIdentity(%s) -> type %i", (text, type, hex, shown) => {
    const id = encodeIdentity(text);
    expect(id.type).toBe(type);
    expect(toHex(id.data)).toBe(hex);
    expect(formatIdentity(id)).toBe(shown);
    const back = parseIdentity(id.type, id.data);
    expect(!isIkeError(back) && identitiesEqual(back, id)).toBe(true);
  });
  it("an explicit type wins over the guess", () => {
    expect(encodeIdentity("192.0.2.1", IdType.ID_FQDN).type).toBe(IdType.ID_FQDN);
    expect(() => encodeIdentity("gw.example.com", IdType.ID_IPV4_ADDR)).toThrow(IdentityError);
  });
  it.each(["", "C=CH, O=example, CN=gw", "@#xyz"])("rejects %j with an IdentityError", (s) => {
    expect(() => encodeIdentity(s)).toThrow(IdentityError);
  });
  it("parseIdentity rejects malformed peer identities without throwing", () => {
    const r = parseIdentity(IdType.ID_IPV4_ADDR, new Uint8Array(5));
    expect(isIkeError(r) && r.name).toBe("AUTHENTICATION_FAILED");
    expect(isIkeError(parseIdentity(IdType.ID_FQDN, new Uint8Array(0)))).toBe(true);
    expect(formatIdentity({ type: IdType.ID_FQDN, data: new Uint8Array([0xff, 0x00]) })).toBe("ID_FQDN:#ff00");
  });
  it("FQDNs compare case-insensitively, key ids byte for byte", () => {
    expect(identitiesEqual(encodeIdentity("GW.example.COM"), encodeIdentity("gw.example.com"))).toBe(true);
    expect(identitiesEqual(encodeIdentity("keyid:A"), encodeIdentity("keyid:a"))).toBe(false);
  });
});
