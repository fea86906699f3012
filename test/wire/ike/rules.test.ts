import { describe, expect, it } from "vitest";
import { ExchangeType, NotifyType } from "../../../src/wire/ike/constants.js";
import { checkPayloadRules, missingProtection } from "../../../src/wire/ike/rules.js";
import type { Payload } from "../../../src/wire/ike/types.js";

const none = new Uint8Array(0);
const SA: Payload = { type: 33, critical: false, proposals: [] };
const KE: Payload = { type: 34, critical: false, group: 19, reserved: 0, keyData: none };
const No: Payload = { type: 40, critical: false, nonce: new Uint8Array(16) };
const N = (notifyType: number): Payload => ({ type: 41, critical: false, protocol: 0, notifyType, spi: none, data: none });
const V: Payload = { type: 43, critical: false, data: none };
const IDi: Payload = { type: 35, critical: false, idType: 2, reserved: new Uint8Array(3), data: none };
const IDr: Payload = { type: 36, critical: false, idType: 2, reserved: new Uint8Array(3), data: none };
const AUTH: Payload = { type: 39, critical: false, method: 2, reserved: new Uint8Array(3), data: none };
const CERTREQ: Payload = { type: 38, critical: false, encoding: 4, data: none };
const TSi: Payload = { type: 44, critical: false, selectors: [], reserved: new Uint8Array(3) };
const TSr: Payload = { type: 45, critical: false, selectors: [], reserved: new Uint8Array(3) };
const D: Payload = { type: 42, critical: false, protocol: 3, spiSize: 4, spis: [] };
const EAP: Payload = { type: 48, critical: false, data: none };
const CP: Payload = { type: 47, critical: false, cfgType: 1, reserved: new Uint8Array(3), attributes: [] };
const SK: Payload = { type: 46, critical: false, firstInner: 35, encrypted: none };
const unknown = (payloadType: number, critical: boolean): Payload => ({ type: "unknown", payloadType, critical, body: none });

const { IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL } = ExchangeType;
const kinds = (xs: ReturnType<typeof checkPayloadRules>): string[] => xs.map((x) => `${x.kind}:${x.payloadType}`);

describe("RFC 7296 s1.2 IKE_SA_INIT", () => {
  it("HDR, SA, KE, Ni, [N+], [V+] -->", () => {
    expect(checkPayloadRules(IKE_SA_INIT, false, [SA, KE, No, N(NotifyType.NAT_DETECTION_SOURCE_IP), N(NotifyType.NAT_DETECTION_DESTINATION_IP), V, V])).toEqual([]);
    // s2.6: the request resent with N(COOKIE) first.
    expect(checkPayloadRules(IKE_SA_INIT, false, [N(NotifyType.COOKIE), SA, KE, No])).toEqual([]);
  });
  it("<-- HDR, SA, KE, Nr, [CERTREQ], [N+]; or an error/COOKIE response with only N", () => {
    expect(checkPayloadRules(IKE_SA_INIT, true, [SA, KE, No, CERTREQ, N(NotifyType.MULTIPLE_AUTH_SUPPORTED)])).toEqual([]);
    expect(checkPayloadRules(IKE_SA_INIT, true, [N(NotifyType.INVALID_KE_PAYLOAD)])).toEqual([]);
    expect(checkPayloadRules(IKE_SA_INIT, true, [N(NotifyType.COOKIE)])).toEqual([]);
  });
  it("a request without KE, or with two nonces, is INVALID_SYNTAX", () => {
    const missing = checkPayloadRules(IKE_SA_INIT, false, [SA, No]);
    expect(kinds(missing)).toEqual(["missing:34"]);
    expect(missing[0]?.notifyType).toBe(NotifyType.INVALID_SYNTAX);
    expect(kinds(checkPayloadRules(IKE_SA_INIT, false, [SA, KE, No, No]))).toEqual(["duplicate:40"]);
  });
  it("AUTH or SK in IKE_SA_INIT is unexpected", () => {
    expect(kinds(checkPayloadRules(IKE_SA_INIT, false, [SA, KE, No, AUTH]))).toEqual(["unexpected:39"]);
    expect(kinds(checkPayloadRules(IKE_SA_INIT, false, [SK]))).toEqual(["unexpected:46"]);
  });
});

describe("RFC 7296 s2.5 unknown payloads", () => {
  it("critical unknown -> UNSUPPORTED_CRITICAL_PAYLOAD naming its type, reported first", () => {
    const ps = checkPayloadRules(IKE_SA_INIT, false, [SA, No, unknown(200, true)]);
    expect(ps[0]).toMatchObject({ kind: "unsupportedCritical", notifyType: NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, payloadType: 200 });
    expect(kinds(ps)).toEqual(["unsupportedCritical:200", "missing:34"]);
  });
  it("non-critical unknown payloads are skipped", () => {
    expect(checkPayloadRules(IKE_SA_INIT, false, [SA, KE, No, unknown(200, false)])).toEqual([]);
    expect(checkPayloadRules(INFORMATIONAL, true, [unknown(49, false)])).toEqual([]);
  });
  it("applies to exchanges without a table too", () => {
    expect(kinds(checkPayloadRules(99, false, [unknown(201, true), AUTH]))).toEqual(["unsupportedCritical:201"]);
  });
});

describe("RFC 7296 s1.2, s2.16 IKE_AUTH (inner payloads)", () => {
  it("SK {IDi, [CERTREQ], [IDr], AUTH, [CP], SA, TSi, TSr} --> and <-- SK {IDr, AUTH, SA, TSi, TSr}", () => {
    expect(checkPayloadRules(IKE_AUTH, false, [IDi, N(NotifyType.INITIAL_CONTACT), CERTREQ, IDr, AUTH, CP, SA, TSi, TSr])).toEqual([]);
    expect(checkPayloadRules(IKE_AUTH, true, [IDr, AUTH, SA, TSi, TSr, N(NotifyType.MOBIKE_SUPPORTED)])).toEqual([]);
  });
  it("EAP rounds: SK {IDi, SA, TSi, TSr} without AUTH, then SK {EAP}, then SK {AUTH}", () => {
    expect(checkPayloadRules(IKE_AUTH, false, [IDi, SA, TSi, TSr])).toEqual([]);
    expect(checkPayloadRules(IKE_AUTH, true, [IDr, AUTH, EAP])).toEqual([]);
    expect(checkPayloadRules(IKE_AUTH, false, [EAP])).toEqual([]);
    expect(checkPayloadRules(IKE_AUTH, true, [EAP])).toEqual([]);
    expect(checkPayloadRules(IKE_AUTH, false, [AUTH])).toEqual([]);
  });
  it("childless (RFC 6023) and failure responses carry no SA/TS", () => {
    expect(checkPayloadRules(IKE_AUTH, false, [IDi, AUTH, N(NotifyType.CHILDLESS_IKEV2_SUPPORTED)])).toEqual([]);
    expect(checkPayloadRules(IKE_AUTH, true, [N(NotifyType.AUTHENTICATION_FAILED)])).toEqual([]);
    expect(checkPayloadRules(IKE_AUTH, true, [IDr, AUTH, N(NotifyType.TS_UNACCEPTABLE)])).toEqual([]);
  });
  it("SA without TSi/TSr, a duplicate AUTH, or KE is INVALID_SYNTAX", () => {
    expect(kinds(checkPayloadRules(IKE_AUTH, false, [IDi, AUTH, SA, TSi]))).toEqual(["missing:45"]);
    expect(kinds(checkPayloadRules(IKE_AUTH, false, [IDi, AUTH, AUTH]))).toEqual(["duplicate:39"]);
    expect(kinds(checkPayloadRules(IKE_AUTH, true, [IDr, AUTH, KE]))).toEqual(["unexpected:34"]);
    expect(kinds(checkPayloadRules(IKE_AUTH, false, []))).toEqual(["missing:35"]);
  });
  it("the clear chain is SK (or SKF) alone, and must be last", () => {
    expect(checkPayloadRules(IKE_AUTH, false, [SK])).toEqual([]);
    expect(kinds(checkPayloadRules(IKE_AUTH, false, [SK, V]))).toEqual(["unexpected:46"]);
    expect(missingProtection(IKE_AUTH, [IDi, AUTH])).toBe(true);
    expect(missingProtection(IKE_AUTH, [SK])).toBe(false);
    expect(missingProtection(IKE_SA_INIT, [SA, KE, No])).toBe(false);
    // s1.5: INVALID_IKE_SPI may be sent in an unprotected INFORMATIONAL.
    expect(missingProtection(INFORMATIONAL, [N(NotifyType.INVALID_IKE_SPI)])).toBe(false);
    expect(missingProtection(INFORMATIONAL, [D])).toBe(true);
  });
});

describe("RFC 7296 s1.3 CREATE_CHILD_SA", () => {
  it("new Child SA, rekey Child SA (N(REKEY_SA)), rekey IKE SA (no TS)", () => {
    expect(checkPayloadRules(CREATE_CHILD_SA, false, [SA, No, KE, TSi, TSr])).toEqual([]);
    expect(checkPayloadRules(CREATE_CHILD_SA, false, [N(NotifyType.REKEY_SA), SA, No, TSi, TSr])).toEqual([]);
    expect(checkPayloadRules(CREATE_CHILD_SA, false, [SA, No, KE])).toEqual([]);
    expect(checkPayloadRules(CREATE_CHILD_SA, true, [SA, No, KE])).toEqual([]);
  });
  it("<-- N(NO_PROPOSAL_CHOSEN) alone is a valid response; a request needs SA and Ni", () => {
    expect(checkPayloadRules(CREATE_CHILD_SA, true, [N(NotifyType.NO_PROPOSAL_CHOSEN)])).toEqual([]);
    expect(kinds(checkPayloadRules(CREATE_CHILD_SA, false, [N(NotifyType.REKEY_SA), SA]))).toEqual(["missing:40"]);
    expect(kinds(checkPayloadRules(CREATE_CHILD_SA, false, [SA, No, TSr]))).toEqual(["missing:44"]);
  });
});

describe("RFC 7296 s1.4 INFORMATIONAL", () => {
  it("empty (liveness), N, D, CP are fine both ways", () => {
    expect(checkPayloadRules(INFORMATIONAL, false, [])).toEqual([]);
    expect(checkPayloadRules(INFORMATIONAL, true, [])).toEqual([]);
    expect(checkPayloadRules(INFORMATIONAL, false, [D, D, N(NotifyType.UPDATE_SA_ADDRESSES)])).toEqual([]);
  });
  it("SA in an INFORMATIONAL is unexpected", () => {
    expect(kinds(checkPayloadRules(INFORMATIONAL, false, [SA]))).toEqual(["unexpected:33"]);
  });
});
