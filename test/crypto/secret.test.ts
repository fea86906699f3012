import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { Secret } from "../../src/crypto/secret.js";

describe("design.md style rule 9: Secret never prints its bytes", () => {
  const bytes = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0x41, 0x42]);

  it("String(), template literals, JSON.stringify and util.inspect show only the length", () => {
    const s = new Secret(bytes.slice());
    for (const shown of [String(s), `${s}`, JSON.stringify(s), JSON.stringify({ key: s }), inspect(s), inspect({ nested: { s } }, { depth: 5 })]) {
      expect(shown).toContain("Secret(6 bytes)");
      expect(shown.toLowerCase()).not.toContain("deadbeef");
      expect(shown).not.toMatch(/222|173|190|239/); // decimal renderings of the bytes
      expect(shown).not.toContain("AB");
    }
  });

  it("wipe() zeroes the bytes and later expose() throws", () => {
    const raw = bytes.slice();
    const s = new Secret(raw);
    s.wipe();
    expect(raw.every((b) => b === 0)).toBe(true);
    expect(s.wiped).toBe(true);
    expect(() => s.expose()).toThrow(/wipe/);
  });

  it("slice() copies, so wiping the original leaves the slice intact", () => {
    const s = new Secret(bytes.slice());
    const part = s.slice(0, 2);
    s.wipe();
    expect(Array.from(part.expose())).toEqual([0xde, 0xad]);
  });
});
