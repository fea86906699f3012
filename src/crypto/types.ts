import type { Random } from "./random.js";
import type { Secret } from "./secret.js";

/**
 * The contracts of the crypto suite (src/crypto/). Every transform is looked up by its IANA id
 * ("Internet Key Exchange Version 2 (IKEv2) Parameters", Transform Type Values) and built on
 * node:crypto. Lengths are in bytes unless a name says bits.
 */

/** Transform Type 1 (ENCR) as negotiated: an IANA id plus, for variable-length ciphers, a key size. */
export interface EncrAlgorithm {
  /** IANA ENCR transform id, e.g. 20 for ENCR_AES_GCM_16. */
  readonly id: number;
  /** IANA name with the key size, e.g. `ENCR_AES_GCM_16_128`. */
  readonly name: string;
  /** Cipher key length in bytes (without salt). */
  readonly keyLength: number;
  /** Salt taken from the end of KEYMAT (RFC 4106 s8.1: 4, RFC 3686: 4, RFC 7634: 4; else 0). */
  readonly saltLength: number;
  /** keyLength + saltLength: how many bytes of KEYMAT this transform consumes. */
  readonly keymatLength: number;
  /** Explicit IV carried in each packet/SK payload (8 for GCM/CCM/CTR/ChaCha, 16 for CBC, 0 for NULL). */
  readonly ivLength: number;
  /** Alignment of the plaintext before encryption (16 for CBC, 1 for stream ciphers and AEAD; ESP pads to max(this, 4)). */
  readonly blockSize: number;
  /** ICV appended by an AEAD (8/12/16); 0 for non-AEAD ciphers, which need an INTEG transform. */
  readonly icvLength: number;
  /** True for combined-mode ciphers (GCM, CCM, ChaCha20-Poly1305, GMAC): no separate INTEG transform. */
  readonly aead: boolean;
  /** True for ENCR_NULL_AUTH_AES_GMAC (RFC 4543): authenticates, does not encrypt. */
  readonly authOnly: boolean;
  /** Binds a key (KEYMAT of `keymatLength` bytes: key || salt). Throws CryptoError on a wrong length. */
  create(keymat: Secret): EncrContext;
}

/** A keyed cipher, reusable across packets. */
export interface EncrContext {
  /**
   * Non-AEAD: returns the ciphertext (CBC input must be a multiple of blockSize; no padding added).
   * AEAD: returns ciphertext || ICV, authenticating `aad` (ESP: SPI || seq [|| ESN high], RFC 4106 s5;
   * IKE: header || SK generic header, RFC 5282). GMAC (authOnly): returns plaintext || ICV where the ICV
   * covers aad || iv || plaintext (RFC 4543 s3.5). `iv` is the explicit per-packet IV (ivLength bytes).
   */
  encrypt(iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /**
   * Inverse of encrypt. AEAD input is ciphertext || ICV; returns null when the ICV does not verify
   * (never throws for bad peer data; a wrong-length input also gives null).
   */
  decrypt(iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | null;
  /**
   * Optional: erases key material the context holds outside JavaScript (the native AEAD contexts of
   * src/crypto/native/ keep the key in OpenSSL). Called when the owning SA is deleted; the context
   * must not be used afterwards. Contexts over node:crypto KeyObjects have none.
   */
  dispose?(): void;
}

/** Transform Type 3 (INTEG). */
export interface IntegAlgorithm {
  readonly id: number;
  /** IANA name, e.g. `AUTH_HMAC_SHA2_256_128`. */
  readonly name: string;
  /** Key length in bytes (RFC 4868: 32/48/64; HMAC-SHA1-96: 20; XCBC/CMAC: 16). */
  readonly keyLength: number;
  /** Truncated ICV length in bytes (12 for *-96, 16/24/32 for SHA-2). */
  readonly icvLength: number;
  create(key: Secret): IntegContext;
}

export interface IntegContext {
  /** The truncated ICV over the concatenation of `parts`. */
  compute(...parts: Uint8Array[]): Uint8Array;
  /** Constant-time check of `icv` against the ICV over `parts`. */
  verify(icv: Uint8Array, ...parts: Uint8Array[]): boolean;
}

/** Transform Type 2 (PRF). */
export interface PrfAlgorithm {
  readonly id: number;
  /** IANA name, e.g. `PRF_HMAC_SHA2_256`. */
  readonly name: string;
  /** Preferred key length in bytes (the size of SK_d, SK_pi, SK_pr; RFC 7296 s2.13). */
  readonly keyLength: number;
  /** Output length in bytes. */
  readonly outputLength: number;
  /** prf(key, data). Accepts keys of any length (XCBC/CMAC reduce them per RFC 4434/4615). */
  compute(key: Uint8Array, data: Uint8Array): Uint8Array;
}

/** Transform Type 4 (KE, "Diffie-Hellman group"). */
export interface KeGroup {
  /** IANA group number, e.g. 14, 19, 31. */
  readonly id: number;
  /** IANA name, e.g. `2048-bit MODP Group`, `256-bit random ECP group`, `Curve25519`. */
  readonly name: string;
  /** Length in bytes of the KE payload's Key Exchange Data for this group. */
  readonly publicLength: number;
  /** A fresh key pair, its private part drawn from `rng`. */
  generate(rng: Random): KeyExchange;
  /** A key pair from a known private value (test vectors). Throws CryptoError on a bad length. */
  fromPrivate(privateKey: Uint8Array): KeyExchange;
}

export interface KeyExchange {
  readonly group: number;
  /** Our Key Exchange Data as it goes in the KE payload (MODP: left-padded; ECP: x || y; Curve25519: u). */
  readonly publicValue: Uint8Array;
  /**
   * g^ir from the peer's Key Exchange Data. Throws KeError for a wrong length, an out-of-range
   * MODP value (1 < y < p-1), a point not on the curve, or an all-zero X25519/X448 result
   * (RFC 6989, RFC 8031 s2). MODP results are left-padded to the modulus length; ECP gives x only.
   */
  computeSharedSecret(peerPublic: Uint8Array): Secret;
}
