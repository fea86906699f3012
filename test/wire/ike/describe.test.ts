import { describe, expect, it } from "vitest";
import { encrIdName, ExchangeType, exchangeTypeName, integIdName, keIdName, NotifyType, notifyTypeName, payloadTypeName, prfIdName, transformTypeName } from "../../../src/wire/ike/constants.js";
import { describeMessage, describePayload } from "../../../src/wire/ike/describe.js";
import { describeMessage as fromMessageModule } from "../../../src/wire/ike/message.js";
import type { IkeHeader, Payload } from "../../../src/wire/ike/types.js";

const hdr = (exchangeType: number, flags: number, messageId: number): IkeHeader => ({
  spiI: 1n, spiR: 0n, nextPayload: 0, version: 0x20, exchangeType, flags, messageId, length: 0,
});
const n = (notifyType: number): Payload => ({ type: 41, critical: false, protocol: 0, notifyType, spi: new Uint8Array(0), data: new Uint8Array(0) });

describe("describeMessage (strongSwan-style one-line summaries)", () => {
  it("IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) ]", () => {
    const payloads: Payload[] = [
      { type: 33, critical: false, proposals: [] },
      { type: 34, critical: false, group: 19, reserved: 0, keyData: new Uint8Array(64) },
      { type: 40, critical: false, nonce: new Uint8Array(32) },
      n(NotifyType.NAT_DETECTION_SOURCE_IP),
      n(NotifyType.NAT_DETECTION_DESTINATION_IP),
    ];
    expect(fromMessageModule({ header: hdr(ExchangeType.IKE_SA_INIT, 0x08, 0), payloads })).toBe("IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) ]");
  });

  it("responses, encrypted payloads, fragments and empty messages", () => {
    expect(describeMessage({ header: hdr(ExchangeType.IKE_AUTH, 0x20, 1), payloads: [{ type: 46, critical: false, firstInner: 35, encrypted: new Uint8Array(0) }] }))
      .toBe("IKE_AUTH response 1 [ E ]");
    expect(describeMessage({ header: hdr(ExchangeType.IKE_AUTH, 0x08, 1), payloads: [{ type: 53, critical: false, firstInner: 0, fragmentNumber: 2, totalFragments: 3, encrypted: new Uint8Array(0) }] }))
      .toBe("IKE_AUTH request 1 [ EF(2/3) ]");
    expect(describeMessage({ header: hdr(ExchangeType.INFORMATIONAL, 0x20, 7), payloads: [] })).toBe("INFORMATIONAL response 7 [ ]");
  });

  it("unknown values print as NAME(number)", () => {
    const payloads: Payload[] = [n(40961), { type: "unknown", payloadType: 200, critical: true, body: new Uint8Array(0) }];
    expect(describeMessage({ header: hdr(99, 0, 3), payloads })).toBe("EXCHANGE(99) request 3 [ N(NOTIFY(40961)) PAYLOAD(200) ]");
  });

  it("payload labels for the decrypted IKE_AUTH content", () => {
    const labels = ([35, 36, 37, 38, 39, 42, 43, 44, 45, 48] as const).map((type) => {
      switch (type) {
        case 35: case 36: return describePayload({ type, critical: false, idType: 2, reserved: new Uint8Array(3), data: new Uint8Array(0) });
        case 37: case 38: return describePayload({ type, critical: false, encoding: 4, data: new Uint8Array(0) });
        case 39: return describePayload({ type, critical: false, method: 2, reserved: new Uint8Array(3), data: new Uint8Array(0) });
        case 42: return describePayload({ type, critical: false, protocol: 3, spiSize: 4, spis: [] });
        case 43: case 48: return describePayload({ type, critical: false, data: new Uint8Array(0) });
        case 44: case 45: return describePayload({ type, critical: false, selectors: [], reserved: new Uint8Array(3) });
      }
    });
    expect(labels.join(" ")).toBe("IDi IDr CERT CERTREQ AUTH D V TSi TSr EAP");
    expect(describePayload({ type: 47, critical: false, cfgType: 1, reserved: new Uint8Array(3), attributes: [] })).toBe("CPRQ");
    const attrs = [1, 3, 8, 25].map((type) => ({ type, value: new Uint8Array(0) }));
    expect(describePayload({ type: 47, critical: false, cfgType: 1, reserved: new Uint8Array(3), attributes: attrs })).toBe("CPRQ(ADDR DNS ADDR6 CFG_ATTRIBUTE(25))");
    expect(describePayload({ type: 47, critical: false, cfgType: 9, reserved: new Uint8Array(3), attributes: [] })).toBe("CFG(9)");
    expect(describePayload(n(NotifyType.SET_WINDOW_SIZE))).toBe("N(SET_WINSIZE)");
    expect(describePayload(n(NotifyType.TICKET_OPAQUE))).toBe("N(TICKET_OPAQUE)");
  });
});

describe("IANA registries are open: unknown codepoints print as NAME(number) (design.md rule 1)", () => {
  it("names known values and brackets unknown ones", () => {
    expect(notifyTypeName(40961)).toBe("NOTIFY(40961)");
    expect(notifyTypeName(16388)).toBe("NAT_DETECTION_SOURCE_IP");
    expect(encrIdName(1024)).toBe("ENCR(1024)");
    expect(encrIdName(20)).toBe("ENCR_AES_GCM_16");
    expect(prfIdName(999)).toBe("PRF(999)");
    expect(integIdName(12)).toBe("AUTH_HMAC_SHA2_256_128");
    expect(keIdName(1234)).toBe("KE(1234)");
    expect(transformTypeName(9)).toBe("TRANSFORM_TYPE(9)");
    expect(exchangeTypeName(250)).toBe("EXCHANGE(250)");
    expect(payloadTypeName(128)).toBe("PAYLOAD(128)");
  });
});
