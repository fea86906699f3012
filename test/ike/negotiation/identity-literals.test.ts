import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { encodeIdentity } from "../../../src/ike/negotiation/auth.js";
import { IdType } from "../../../src/wire/ike/constants.js";
import { parseIpAddress } from "../../../src/wire/ip.js";

function parses(text: string): Uint8Array | undefined {
  try {
    return parseIpAddress(text);
  } catch {
    return undefined;
  }
}

// encodeIdentity skips parseIpAddress for text that cannot be an IP literal (a speed-up for host
// names); the guess must stay exactly "an IP address when parseIpAddress accepts it".
describe("RFC 7296 s3.5: an identity is guessed as ID_IPV4_ADDR / ID_IPV6_ADDR exactly when it is an IP literal", () => {
  const ipish = fc.stringMatching(/^[0-9a-fA-F:.]{1,45}$/);
  const ipv6 = fc.ipV6();
  const ipv4 = fc.ipV4();
  const text = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/^(fqdn|email|rfc822|ipv4|ipv6|keyid):/i.test(s) && !s.startsWith("@") && !s.includes("="));

  it("for IP-like, IPv4, IPv6 and arbitrary text", () => {
    fc.assert(
      fc.property(fc.oneof(ipish, ipv4, ipv6, text, fc.domain()), (id) => {
        const ip = parses(id);
        const r = encodeIdentity(id);
        if (ip !== undefined) {
          expect(r.type).toBe(ip.length === 4 ? IdType.ID_IPV4_ADDR : IdType.ID_IPV6_ADDR);
          expect(r.data).toEqual(ip);
        } else {
          expect([IdType.ID_FQDN, IdType.ID_RFC822_ADDR]).toContain(r.type);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("host names are FQDNs, literals are addresses", () => {
    expect(encodeIdentity("gw.example").type).toBe(IdType.ID_FQDN);
    expect(encodeIdentity("198.51.100.7")).toEqual({ type: IdType.ID_IPV4_ADDR, data: Uint8Array.of(198, 51, 100, 7) });
    expect(encodeIdentity("2001:db8::1").type).toBe(IdType.ID_IPV6_ADDR);
    expect(encodeIdentity("1.2.3.4.5").type).toBe(IdType.ID_FQDN);
  });
});
