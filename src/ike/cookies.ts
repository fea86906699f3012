/**
 * Stateless COOKIEs against half-open floods (RFC 7296 s2.6, s2.6.1).
 *
 *   Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>)
 *
 * The secret comes from the injected Random and is replaced every `rotateMs`; cookies made with
 * the previous secret are still accepted so an initiator caught by a rotation does not fail.
 * The responder keeps no per-initiator state while it demands cookies.
 */
import { createHash } from "node:crypto";
import type { Millis } from "./api.js";
import type { Random } from "../crypto/random.js";
import { constantTimeEqual } from "../crypto/compare.js";
import { spi8 } from "./payload-builders.js";

const VERSION_BYTES = 4;

export class CookieJar {
  readonly #random: Random;
  readonly #rotateMs: Millis;
  #version = 0;
  #secret: Uint8Array;
  #previous: { version: number; secret: Uint8Array } | undefined;
  #rotatedAt: Millis;

  constructor(random: Random, now: Millis, rotateMs: Millis = 120_000) {
    this.#random = random;
    this.#rotateMs = rotateMs;
    this.#secret = random.bytes(32);
    this.#rotatedAt = now;
  }

  #rotate(now: Millis): void {
    if (now - this.#rotatedAt < this.#rotateMs) return;
    this.#previous = { version: this.#version, secret: this.#secret };
    this.#version = (this.#version + 1) >>> 0;
    this.#secret = this.#random.bytes(32);
    this.#rotatedAt = now;
  }

  static #hash(version: number, secret: Uint8Array, ni: Uint8Array, ipI: string, spiI: bigint): Uint8Array {
    const v = new Uint8Array(VERSION_BYTES);
    new DataView(v.buffer).setUint32(0, version);
    const h = createHash("sha256").update(ni).update(ipI).update(spi8(spiI)).update(secret).digest();
    const out = new Uint8Array(VERSION_BYTES + h.length);
    out.set(v, 0);
    out.set(h, VERSION_BYTES);
    return out;
  }

  /** The cookie for this initiator (Ni, its IP address, its SPI). */
  make(now: Millis, ni: Uint8Array, ipI: string, spiI: bigint): Uint8Array {
    this.#rotate(now);
    return CookieJar.#hash(this.#version, this.#secret, ni, ipI, spiI);
  }

  /** True when `cookie` was made by us (current or previous secret) for this initiator. */
  verify(now: Millis, cookie: Uint8Array, ni: Uint8Array, ipI: string, spiI: bigint): boolean {
    this.#rotate(now);
    if (cookie.length !== VERSION_BYTES + 32) return false;
    const version = new DataView(cookie.buffer, cookie.byteOffset, VERSION_BYTES).getUint32(0);
    const candidates = [{ version: this.#version, secret: this.#secret }];
    if (this.#previous) candidates.push(this.#previous);
    const c = candidates.find((x) => x.version === version);
    return c !== undefined && constantTimeEqual(cookie, CookieJar.#hash(c.version, c.secret, ni, ipI, spiI));
  }
}
