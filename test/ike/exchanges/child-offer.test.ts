import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readChildOffer } from "../../../src/ike/exchanges/child-negotiation.js";
import { notify, saPayload, tsPayload } from "../../../src/ike/payload-builders.js";
import { tsFromCidr } from "../../../src/ike/negotiation/traffic-selectors.js";
import { NotifyType } from "../../../src/wire/ike/constants.js";
import type { Payload } from "../../../src/wire/ike/types.js";

describe("readChildOffer: SA, TSi, TSr and the USE_TRANSPORT_MODE / ESP_TFC_PADDING_NOT_SUPPORTED notifies (RFC 7296 s1.3.1, s3.10.1)", () => {
  const base = (): Payload[] => [saPayload([]), tsPayload(44, [tsFromCidr("10.1.0.0/16")]), tsPayload(45, [tsFromCidr("10.2.0.0/16")])];
  const others = [NotifyType.INITIAL_CONTACT, NotifyType.IKEV2_FRAGMENTATION_SUPPORTED, NotifyType.NAT_DETECTION_SOURCE_IP];

  it("finds each notify wherever it stands among the payloads, and only when present", () => {
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.subarray(others), fc.nat(), (transport, tfc, extra, seed) => {
        const ps = base();
        const add = [...extra.map((t) => notify(t)), ...(transport ? [notify(NotifyType.USE_TRANSPORT_MODE)] : []), ...(tfc ? [notify(NotifyType.ESP_TFC_PADDING_NOT_SUPPORTED)] : [])];
        add.forEach((p, i) => ps.splice((seed + i * 7) % (ps.length + 1), 0, p));
        const offer = readChildOffer(ps);
        expect(offer?.transport).toBe(transport);
        expect(offer?.tfcNotSupported).toBe(tfc);
        expect(offer?.tsi.length).toBe(1);
      }),
    );
  });

  it("no offer without SA, TSi or TSr", () => {
    for (let drop = 0; drop < 3; drop++) {
      const ps = base();
      ps.splice(drop, 1);
      expect(readChildOffer([...ps, notify(NotifyType.USE_TRANSPORT_MODE)])).toBeUndefined();
    }
  });
});
