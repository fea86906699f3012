/**
 * fast-check generators for every IKEv2 payload and for whole messages. Every generated value
 * is one the codec can represent exactly, so `decode(encode(v))` must deep-equal `v`:
 * reserved fields that the model keeps are random, ones it does not keep are implied zero;
 * unknown traffic selector types carry no ports and an empty endAddress (see
 * traffic-selector.ts); unknown payloads never use a type the codec knows.
 */
import fc from "fast-check";
import { KNOWN_PAYLOAD_TYPES } from "../../../src/wire/ike/payload.js";
import type { IkeHeader, IkeMessage, Payload, Proposal, TrafficSelector, Transform, TransformAttribute } from "../../../src/wire/ike/types.js";

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u15 = fc.integer({ min: 0, max: 0x7fff });
const bytes = (min: number, max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: min, maxLength: max });
const critical = fc.boolean();

export const attributeArb: fc.Arbitrary<TransformAttribute> = fc.oneof(
  fc.record({ type: u15, format: fc.constant("tv" as const), value: u16 }),
  fc.record({ type: u15, format: fc.constant("tlv" as const), value: bytes(0, 12) }),
);

export const transformArb: fc.Arbitrary<Transform> = fc.record({
  type: u8,
  id: u16,
  attributes: fc.array(attributeArb, { maxLength: 3 }),
});

export const proposalArb: fc.Arbitrary<Proposal> = fc.record({
  number: u8,
  protocol: u8,
  spi: bytes(0, 8),
  transforms: fc.array(transformArb, { maxLength: 6 }),
});

export const selectorArb: fc.Arbitrary<TrafficSelector> = fc.oneof(
  fc.record({ type: fc.constant(7), ipProtocol: u8, startPort: u16, endPort: u16, startAddress: bytes(4, 4), endAddress: bytes(4, 4) }),
  fc.record({ type: fc.constant(8), ipProtocol: u8, startPort: u16, endPort: u16, startAddress: bytes(16, 16), endAddress: bytes(16, 16) }),
  fc.record({
    type: u8.filter((t) => t !== 7 && t !== 8),
    ipProtocol: u8,
    startPort: fc.constant(0),
    endPort: fc.constant(0),
    startAddress: bytes(0, 20),
    endAddress: fc.constant(new Uint8Array(0)),
  }),
);

export const saArb = fc.record({ type: fc.constant(33 as const), critical, proposals: fc.array(proposalArb, { minLength: 1, maxLength: 4 }) });
export const keArb = fc.record({ type: fc.constant(34 as const), critical, group: u16, reserved: u16, keyData: bytes(0, 300) });
export const idArb = fc.record({ type: fc.constantFrom(35 as const, 36 as const), critical, idType: u8, reserved: bytes(3, 3), data: bytes(0, 40) });
export const certArb = fc.record({ type: fc.constant(37 as const), critical, encoding: u8, data: bytes(0, 60) });
export const certreqArb = fc.record({ type: fc.constant(38 as const), critical, encoding: u8, data: bytes(0, 60) });
export const authArb = fc.record({ type: fc.constant(39 as const), critical, method: u8, reserved: bytes(3, 3), data: bytes(0, 60) });
export const nonceArb = fc.record({ type: fc.constant(40 as const), critical, nonce: bytes(16, 256) });
export const notifyArb = fc.record({ type: fc.constant(41 as const), critical, protocol: u8, notifyType: u16, spi: bytes(0, 8), data: bytes(0, 40) });
export const deleteArb = fc
  .record({ critical, protocol: u8, spiSize: fc.integer({ min: 0, max: 8 }), n: fc.integer({ min: 0, max: 6 }) })
  .chain(({ critical: c, protocol, spiSize, n }) =>
    fc.record({
      type: fc.constant(42 as const),
      critical: fc.constant(c),
      protocol: fc.constant(protocol),
      spiSize: fc.constant(spiSize),
      spis: fc.array(bytes(spiSize, spiSize), { minLength: n, maxLength: n }),
    }),
  );
export const vendorIdArb = fc.record({ type: fc.constant(43 as const), critical, data: bytes(0, 40) });
export const tsArb = fc.record({ type: fc.constantFrom(44 as const, 45 as const), critical, selectors: fc.array(selectorArb, { maxLength: 5 }), reserved: bytes(3, 3) });
export const skArb = fc.record({ type: fc.constant(46 as const), critical, firstInner: u8, encrypted: bytes(0, 120) });
export const cpArb = fc.record({
  type: fc.constant(47 as const),
  critical,
  cfgType: u8,
  reserved: bytes(3, 3),
  attributes: fc.array(fc.record({ type: u15, value: bytes(0, 17) }), { maxLength: 5 }),
});
export const eapArb = fc.record({ type: fc.constant(48 as const), critical, data: bytes(0, 60) });
export const skfArb = fc
  .record({ fragmentNumber: fc.integer({ min: 1, max: 0xffff }), critical, firstInner: u8, encrypted: bytes(0, 120) })
  .chain((r) =>
    fc.integer({ min: r.fragmentNumber, max: 0xffff }).map((totalFragments) => ({ type: 53 as const, ...r, totalFragments })),
  );
export const unknownArb = fc.record({
  type: fc.constant("unknown" as const),
  payloadType: fc.integer({ min: 1, max: 255 }).filter((t) => !KNOWN_PAYLOAD_TYPES.has(t)),
  critical,
  body: bytes(0, 40),
});

/** Any payload that may appear in the middle of a chain (not SK/SKF). */
export const clearPayloadArb: fc.Arbitrary<Payload> = fc.oneof(
  saArb, keArb, idArb, certArb, certreqArb, authArb, nonceArb, notifyArb, deleteArb, vendorIdArb, tsArb, cpArb, eapArb, unknownArb,
);

/** Every payload kind, with a name, for per-payload properties. */
export const payloadArbs: ReadonlyArray<readonly [string, fc.Arbitrary<Payload>]> = [
  ["SA", saArb], ["KE", keArb], ["ID", idArb], ["CERT", certArb], ["CERTREQ", certreqArb], ["AUTH", authArb],
  ["Nonce", nonceArb], ["Notify", notifyArb], ["Delete", deleteArb], ["Vendor ID", vendorIdArb], ["TS", tsArb],
  ["SK", skArb], ["CP", cpArb], ["EAP", eapArb], ["SKF", skfArb], ["unknown", unknownArb],
];

/** A payload chain: clear payloads, optionally ending with SK or SKF. */
export const chainArb: fc.Arbitrary<Payload[]> = fc
  .tuple(fc.array(clearPayloadArb, { maxLength: 8 }), fc.option(fc.oneof(skArb, skfArb), { nil: undefined }))
  .map(([clear, enc]) => (enc ? [...clear, enc] : clear));

export const headerArb: fc.Arbitrary<IkeHeader> = fc.record({
  spiI: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  spiR: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  nextPayload: u8, // ignored by encodeMessage
  version: fc.integer({ min: 0x20, max: 0x2f }),
  exchangeType: u8,
  flags: u8,
  messageId: fc.integer({ min: 0, max: 0xffffffff }),
  length: fc.integer({ min: 0, max: 0xffffffff }), // ignored by encodeMessage
});

export const messageArb: fc.Arbitrary<IkeMessage> = fc.record({ header: headerArb, payloads: chainArb });
