import { describe, expect, it } from "vitest";
import { fromHex } from "../../../../src/wire/hex.js";
import { AuthMethod, CertEncoding, IdType } from "../../../../src/wire/ike/constants.js";
import { certreqKeyHashes } from "../../../../src/wire/ike/payloads/certreq.js";
import { idPayloadBody } from "../../../../src/wire/ike/payloads/id.js";
import { decodeOne, expectDecodeError, decodeBody } from "../helpers.js";

describe("RFC 7296 s3.5 Identification payloads", () => {
  it("IDi ID_FQDN \"west\" (as in tcpdump's ikev2pI2)", () => {
    const p = decodeOne(35, "02" + "000000" + "77657374");
    expect(p).toEqual({ type: 35, critical: false, idType: IdType.ID_FQDN, reserved: new Uint8Array(3), data: new TextEncoder().encode("west") });
    if (p.type !== 35) throw new Error("not IDi");
    // s2.15: AUTH signs RestOfInitIDPayload, i.e. this body.
    expect(idPayloadBody(p)).toEqual(fromHex("0200000077657374"));
  });

  it("IDr ID_IPV4_ADDR 192.0.2.1 with non-zero RESERVED kept", () => {
    const p = decodeOne(36, "01" + "010203" + "c0000201");
    expect(p).toMatchObject({ type: 36, idType: IdType.ID_IPV4_ADDR, reserved: fromHex("010203"), data: fromHex("c0000201") });
  });

  it("a body shorter than ID Type + RESERVED is a DecodeError", () => {
    expectDecodeError(() => decodeBody(35, "01"), "IDi.reserved");
  });
});

describe("RFC 7296 s3.8 Authentication payload", () => {
  it("Auth Method | RESERVED | Authentication Data", () => {
    const p = decodeOne(39, "02" + "000000" + "00112233445566778899aabbccddeeff");
    expect(p).toMatchObject({ type: 39, method: AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE, data: fromHex("00112233445566778899aabbccddeeff") });
  });
  it("too short for its fixed fields", () => {
    expectDecodeError(() => decodeBody(39, "0200"), "AUTH.reserved");
  });
});

describe("RFC 7296 s3.6/3.7 Certificate and Certificate Request payloads", () => {
  it("CERT: encoding + data", () => {
    const p = decodeOne(37, "04" + "3082");
    expect(p).toEqual({ type: 37, critical: false, encoding: CertEncoding.X509_CERTIFICATE_SIGNATURE, data: fromHex("3082") });
  });
  it("CERTREQ: encoding + concatenated 20-byte SHA-1 key hashes", () => {
    const h1 = "11".repeat(20);
    const h2 = "22".repeat(20);
    const p = decodeOne(38, "04" + h1 + h2);
    if (p.type !== 38) throw new Error("not CERTREQ");
    expect(certreqKeyHashes(p)).toEqual([fromHex(h1), fromHex(h2)]);
  });
  it("an empty CERT body has no encoding octet", () => {
    expectDecodeError(() => decodeBody(37, ""), "CERT.encoding");
  });
});
