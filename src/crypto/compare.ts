import { timingSafeEqual } from "node:crypto";

/**
 * Constant-time equality for ICVs and AUTH values (RFC 4303 section 3.4.4 wants the ICV checked
 * before anything else; comparing in constant time keeps the check from leaking how many leading
 * bytes matched). Different lengths compare unequal (lengths are public).
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
