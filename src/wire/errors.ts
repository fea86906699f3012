/**
 * The one error that decoding untrusted bytes may produce.
 *
 * Every decoder in `wire/` throws only `DecodeError` (never a RangeError or TypeError), naming
 * the field being read and the byte offset, relative to the start of the buffer handed to the
 * outermost `decode` call, where it went wrong. The IKE engine maps it to INVALID_SYNTAX or a
 * silent drop (RFC 7296 section 2.21); the data plane counts it as a malformed packet.
 */
export class DecodeError extends Error {
  override readonly name = "DecodeError";
  constructor(
    /** Dotted path of the field, e.g. `SA.proposal[0].transform[2].length`. */
    readonly field: string,
    /** Byte offset (from the start of the outermost buffer) where the field starts. */
    readonly offset: number,
    /** What was wrong, in words. */
    readonly reason: string,
  ) {
    super(`${field} at byte ${offset}: ${reason}`);
  }
}

/** True when `e` is a {@link DecodeError}. */
export function isDecodeError(e: unknown): e is DecodeError {
  return e instanceof DecodeError;
}
