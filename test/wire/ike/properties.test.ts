/**
 * Property tests for the IKEv2 codecs (RFC 7296 s3): every payload kind and whole messages
 * round-trip both ways, and corrupted input only ever produces DecodeError.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DecodeError } from "../../../src/wire/errors.js";
import { decodeMessage, decodePayloadChain, encodeMessage, encodePayloadChain } from "../../../src/wire/ike/message.js";
import { checkPayloadRules } from "../../../src/wire/ike/rules.js";
import type { IkeMessage } from "../../../src/wire/ike/types.js";
import { chainArb, messageArb, payloadArbs } from "./arbitraries.js";

/** What decodeMessage must return for `msg`: the same, with the recomputed header fields. */
function normalised(msg: IkeMessage, bytes: Uint8Array): IkeMessage {
  const first = msg.payloads[0];
  const nextPayload = first === undefined ? 0 : first.type === "unknown" ? first.payloadType : first.type;
  return { header: { ...msg.header, nextPayload, length: bytes.length }, payloads: msg.payloads };
}

function onlyDecodeErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
  }
}

describe("RFC 7296 s3.2-3.16 payloads: decode(encode(v)) == v and encode(decode(x)) == x", () => {
  for (const [name, arb] of payloadArbs) {
    it(name, () => {
      fc.assert(
        fc.property(arb, (p) => {
          const { firstType, bytes } = encodePayloadChain([p]);
          const decoded = decodePayloadChain(firstType, bytes);
          expect(decoded).toEqual([p]);
          expect(encodePayloadChain(decoded).bytes).toEqual(bytes);
        }),
        { numRuns: 500 },
      );
    });
  }
});

describe("RFC 7296 s3.1 whole messages", () => {
  it("decode(encode(m)) deep-equals m (header nextPayload/length recomputed)", () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const bytes = encodeMessage(m);
        expect(decodeMessage(bytes)).toEqual(normalised(m, bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it("encode(decode(x)) is byte-identical", () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const bytes = encodeMessage(m);
        expect(encodeMessage(decodeMessage(bytes))).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it("payload chains (SK content) round-trip with their first type", () => {
    fc.assert(
      fc.property(chainArb, (ps) => {
        const { firstType, bytes } = encodePayloadChain(ps);
        expect(decodePayloadChain(firstType, bytes)).toEqual(ps);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("untrusted input: corruption only ever gives DecodeError (design.md, RFC 7296 s2.21)", () => {
  it("every truncation of a valid message decodes or throws DecodeError", () => {
    fc.assert(
      fc.property(messageArb, fc.nat(), (m, cut) => {
        const bytes = encodeMessage(m);
        const n = cut % (bytes.length + 1);
        onlyDecodeErrors(() => decodeMessage(bytes.subarray(0, n)));
        // With a consistent header length the payload parsers see the truncation too.
        const t = bytes.slice(0, Math.max(n, 28));
        new DataView(t.buffer).setUint32(24, t.length);
        onlyDecodeErrors(() => decodeMessage(t));
      }),
      { numRuns: 3000 },
    );
  });

  it("random byte mutations decode or throw DecodeError", () => {
    fc.assert(
      fc.property(messageArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (m, edits) => {
        const bytes = encodeMessage(m);
        for (const [at, v] of edits) {
          // Keep the header length intact most of the time so the payload chain gets parsed.
          const i = bytes.length > 28 ? 28 + (at % (bytes.length - 28)) : at % bytes.length;
          bytes[i] = v;
        }
        onlyDecodeErrors(() => {
          const d = decodeMessage(bytes);
          // Whatever decodes must also encode again (the model stays consistent).
          encodeMessage(d);
        });
      }),
      { numRuns: 3000 },
    );
  });

  it("random bytes as a payload chain decode or throw DecodeError", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 200 }), (first, b) => {
        onlyDecodeErrors(() => decodePayloadChain(first, b));
      }),
      { numRuns: 3000 },
    );
  });
});

describe("rules.ts on arbitrary payload lists", () => {
  it("checkPayloadRules never throws and flags every critical unknown payload", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.boolean(), chainArb, (exchange, response, ps) => {
        const problems = checkPayloadRules(exchange, response, ps);
        const criticalUnknown = ps.filter((p) => p.type === "unknown" && p.critical).length;
        expect(problems.filter((p) => p.kind === "unsupportedCritical")).toHaveLength(criticalUnknown);
        for (const p of problems) expect([1, 7]).toContain(p.notifyType);
      }),
      { numRuns: 1000 },
    );
  });
});
