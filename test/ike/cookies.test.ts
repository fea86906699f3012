import { describe, it, expect } from "vitest";
import { CookieJar } from "../../src/ike/cookies.js";
import { seededRandom } from "../../src/crypto/random.js";

describe("RFC 7296 s2.6.1: stateless cookies with a rotating secret", () => {
  const ni = new Uint8Array(32).fill(7);
  it("verifies its own cookie for the same Ni, IPi and SPIi only", () => {
    const jar = new CookieJar(seededRandom("c"), 0);
    const c = jar.make(0, ni, "192.0.2.1", 5n);
    expect(jar.verify(1, c, ni, "192.0.2.1", 5n)).toBe(true);
    expect(jar.verify(1, c, ni, "192.0.2.9", 5n)).toBe(false);
    expect(jar.verify(1, c, ni, "192.0.2.1", 6n)).toBe(false);
    expect(jar.verify(1, c, new Uint8Array(32), "192.0.2.1", 5n)).toBe(false);
    expect(jar.verify(1, c.subarray(0, 10), ni, "192.0.2.1", 5n)).toBe(false);
  });
  it("accepts a cookie from the previous secret, not from two rotations ago", () => {
    const jar = new CookieJar(seededRandom("c"), 0, 1000);
    const c = jar.make(0, ni, "192.0.2.1", 5n);
    expect(jar.verify(1500, c, ni, "192.0.2.1", 5n)).toBe(true);
    expect(jar.verify(3000, c, ni, "192.0.2.1", 5n)).toBe(false);
  });
});
