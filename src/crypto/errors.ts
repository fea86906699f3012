/**
 * Errors of the crypto suite.
 *
 * `CryptoError` is a broken invariant on our side or in a configuration: an unknown or unsupported
 * transform id, a missing or invalid key length, key material of the wrong size. `KeError` is bad
 * peer Key Exchange Data (RFC 7296 s3.4, RFC 6989): the IKE engine turns it into
 * INVALID_SYNTAX / INVALID_KE_PAYLOAD handling instead of letting it cross the core boundary.
 * Neither message ever contains key bytes.
 */
export class CryptoError extends Error {
  override readonly name: string = "CryptoError";
}

/** Bad peer Key Exchange Data. `group` is the IANA KE id; `reason` says what was wrong. */
export class KeError extends Error {
  override readonly name = "KeError";
  constructor(
    readonly group: number,
    readonly groupName: string,
    readonly reason: string,
  ) {
    super(`KE group ${group} (${groupName}): ${reason}`);
  }
}

/** True when `e` is a {@link KeError}. */
export function isKeError(e: unknown): e is KeError {
  return e instanceof KeError;
}
