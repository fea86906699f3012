import { inspect } from "node:util";

/**
 * A holder for key material that never prints its bytes.
 *
 * `toString`, `JSON.stringify` and `util.inspect` (and so every logger) show
 * `Secret(<n> bytes)` only. `wipe()` zeroes the bytes (design.md style rule 9: keys are zeroed
 * when their SA is deleted). Read the bytes with `expose()` only where they feed a primitive.
 */
export class Secret {
  #bytes: Uint8Array;
  #wiped = false;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Length in bytes. */
  get length(): number {
    return this.#bytes.length;
  }

  get wiped(): boolean {
    return this.#wiped;
  }

  /** The raw bytes. Throws if the secret was wiped (a use-after-delete is a broken invariant). */
  expose(): Uint8Array {
    if (this.#wiped) throw new Error("Secret used after wipe()");
    return this.#bytes;
  }

  /** A new Secret over bytes [start, end) (copied, so wiping one does not affect the other). */
  slice(start: number, end: number): Secret {
    return new Secret(this.expose().slice(start, end));
  }

  /** Zeroes the bytes; later `expose()` calls throw. */
  wipe(): void {
    this.#bytes.fill(0);
    this.#wiped = true;
  }

  toString(): string {
    return `Secret(${this.#bytes.length} bytes)`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }

  /** Wraps a UTF-8 string (a PSK from a config file). */
  static fromUtf8(s: string): Secret {
    return new Secret(new Uint8Array(Buffer.from(s, "utf8")));
  }
}
