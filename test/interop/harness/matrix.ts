/**
 * The interop matrix shared by the strongSwan<->strongSwan baseline and the tsipsec<->strongSwan
 * suites: proposal strings as both configs spell them (swanctl.conf and tsipsec's YAML take the
 * same strings) and the algorithm names both listings must then show (strongSwan style,
 * `AES_GCM_16-128`, as `swanctl --list-sas` and `tsipsec list-sas --json` print them).
 */
import { SITE_TO_SITE_ADDRESSES } from "../../../src/drivers/netns.js";
import type { SwanChildSa, SwanConnection, SwanIkeSa } from "../../support/strongswan.js";

export interface ExpectedIke {
  encr: string;
  integ: string | undefined;
  prf: string;
  ke: string;
}

export interface ExpectedChild {
  encr: string;
  integ: string | undefined;
  esn: boolean;
  /** PFS group shown after a CREATE_CHILD_SA rekey with KE (the IKE_AUTH Child SA never has one, RFC 7296 s1.2). */
  keAfterRekey: string | undefined;
}

export interface AlgorithmRow {
  /** Test name, e.g. `aes128-sha256-modp2048 / aes128gcm16`. */
  name: string;
  ike: string;
  esp: string;
  expectIke: ExpectedIke;
  expectChild: ExpectedChild;
}

export const ALGORITHM_ROWS: readonly AlgorithmRow[] = [
  {
    name: "IKE aes128-sha256-modp2048 / ESP aes128gcm16",
    ike: "aes128-sha256-modp2048",
    esp: "aes128gcm16",
    expectIke: { encr: "AES_CBC-128", integ: "HMAC_SHA2_256_128", prf: "PRF_HMAC_SHA2_256", ke: "MODP_2048" },
    expectChild: { encr: "AES_GCM_16-128", integ: undefined, esn: false, keAfterRekey: undefined },
  },
  {
    name: "IKE aes256gcm16-prfsha384-ecp384 / ESP aes256gcm16",
    ike: "aes256gcm16-prfsha384-ecp384",
    esp: "aes256gcm16",
    expectIke: { encr: "AES_GCM_16-256", integ: undefined, prf: "PRF_HMAC_SHA2_384", ke: "ECP_384" },
    expectChild: { encr: "AES_GCM_16-256", integ: undefined, esn: false, keAfterRekey: undefined },
  },
  {
    name: "IKE chacha20poly1305-prfsha256-x25519 / ESP chacha20poly1305",
    ike: "chacha20poly1305-prfsha256-x25519",
    esp: "chacha20poly1305",
    expectIke: { encr: "CHACHA20_POLY1305", integ: undefined, prf: "PRF_HMAC_SHA2_256", ke: "CURVE_25519" },
    expectChild: { encr: "CHACHA20_POLY1305", integ: undefined, esn: false, keAfterRekey: undefined },
  },
  {
    name: "IKE aes256-sha256-modp3072 / ESP aes256-sha256",
    ike: "aes256-sha256-modp3072",
    esp: "aes256-sha256",
    expectIke: { encr: "AES_CBC-256", integ: "HMAC_SHA2_256_128", prf: "PRF_HMAC_SHA2_256", ke: "MODP_3072" },
    expectChild: { encr: "AES_CBC-256", integ: "HMAC_SHA2_256_128", esn: false, keAfterRekey: undefined },
  },
  {
    name: "IKE aes128-sha1-modp2048 / ESP aes128-sha1",
    ike: "aes128-sha1-modp2048",
    esp: "aes128-sha1",
    expectIke: { encr: "AES_CBC-128", integ: "HMAC_SHA1_96", prf: "PRF_HMAC_SHA1", ke: "MODP_2048" },
    expectChild: { encr: "AES_CBC-128", integ: "HMAC_SHA1_96", esn: false, keAfterRekey: undefined },
  },
  {
    name: "ESP with PFS aes128gcm16-ecp256 (KE on CREATE_CHILD_SA, RFC 7296 s1.3.1)",
    ike: "aes128-sha256-modp2048",
    esp: "aes128gcm16-ecp256",
    expectIke: { encr: "AES_CBC-128", integ: "HMAC_SHA2_256_128", prf: "PRF_HMAC_SHA2_256", ke: "MODP_2048" },
    expectChild: { encr: "AES_GCM_16-128", integ: undefined, esn: false, keAfterRekey: "ECP_256" },
  },
];

/**
 * ESN (RFC 4303 s2.2.1). strongSwan's user-space ESP (libipsec, the only ESP here) refuses ESN
 * SAs ("IPsec SA: ESN not supported"): the proposal is selected, the Child SA is not installed
 * and the IKE SA stays. So against strongSwan this row checks the negotiation and the clean
 * failure, not ESN traffic (that belongs to tsipsec<->tsipsec tests).
 */
export const ESN_ROW: AlgorithmRow = {
  name: "ESP with ESN aes128gcm16-esn (RFC 4303 s2.2.1)",
  ike: "aes128-sha256-modp2048",
  esp: "aes128gcm16-esn",
  expectIke: { encr: "AES_CBC-128", integ: "HMAC_SHA2_256_128", prf: "PRF_HMAC_SHA2_256", ke: "MODP_2048" },
  expectChild: { encr: "AES_GCM_16-128", integ: undefined, esn: true, keAfterRekey: undefined },
};

/** The log line strongSwan writes when libipsec refuses an ESN SA. */
export const LIBIPSEC_NO_ESN = /IPsec SA: ESN not supported/;

/** Identity kinds (RFC 7296 s3.5): ID_IPV4_ADDR, ID_FQDN, ID_RFC822_ADDR. */
export interface IdentityRow {
  name: string;
  gwA: string;
  gwB: string;
}

export const IDENTITY_ROWS: readonly IdentityRow[] = [
  { name: "ID_IPV4_ADDR", gwA: SITE_TO_SITE_ADDRESSES.gwAWan.v4, gwB: SITE_TO_SITE_ADDRESSES.gwBWan.v4 },
  { name: "ID_FQDN", gwA: "gw-a.example.com", gwB: "gw-b.example.com" },
  { name: "ID_RFC822_ADDR", gwA: "gw-a@example.com", gwB: "gw-b@example.com" },
];

/** Traffic selectors that contain the /24 sites but are wider: the responder with the /24s narrows (RFC 7296 s2.9). */
export const WIDE_TS = { siteA: "198.18.0.0/23", siteB: "198.18.2.0/23" } as const;

export const PSK = "interop-matrix-psk-3f9c1d2e7a";

export interface SiteOptions {
  ike?: string;
  esp?: string;
  idA?: string;
  idB?: string;
  /** This side's traffic selectors (default: its own /24 site and the other /24 site). */
  localTs?: string;
  remoteTs?: string;
  rekeyTime?: number;
  childRekeyTime?: number;
  dpdDelay?: number;
  /** Pre-shared key (default PSK). */
  psk?: string;
  /** Address family of the outer addresses, default identities and default selectors. */
  family?: "v4" | "v6";
}

/**
 * The connection of one gateway of the site-to-site topology. `side` "a" is gw-a (192.0.2.1,
 * protecting 198.18.1.0/24), "b" is gw-b. Both sides get the same name so listings line up.
 */
export function siteConnection(side: "a" | "b", o: SiteOptions = {}): SwanConnection {
  const S = SITE_TO_SITE_ADDRESSES;
  const f = o.family ?? "v4";
  const idA = o.idA ?? S.gwAWan[f];
  const idB = o.idB ?? S.gwBWan[f];
  const a = side === "a";
  const child = {
    name: "net",
    localTs: [o.localTs ?? (a ? S.siteA[f] : S.siteB[f])],
    remoteTs: [o.remoteTs ?? (a ? S.siteB[f] : S.siteA[f])],
    espProposals: [o.esp ?? "aes128gcm16"],
    startAction: "none" as const,
    mode: "tunnel" as const,
    // An explicit hard lifetime well after the rekey time (strongSwan's default is rekey_time * 1.1).
    ...(o.childRekeyTime !== undefined ? { rekeyTime: o.childRekeyTime, randTime: 0, lifeTime: o.childRekeyTime + 120 } : {}),
  };
  return {
    name: "s2s",
    localAddrs: [a ? S.gwAWan[f] : S.gwBWan[f]],
    remoteAddrs: [a ? S.gwBWan[f] : S.gwAWan[f]],
    proposals: [o.ike ?? "aes128-sha256-modp2048"],
    localId: a ? idA : idB,
    remoteId: a ? idB : idA,
    psk: o.psk ?? PSK,
    // strongSwan's over_time defaults to 10% of rekey_time, rounded down: 0 for a 6 s rekey time,
    // which would make the IKE SA expire at the moment it is due to be rekeyed.
    ...(o.rekeyTime !== undefined ? { rekeyTime: o.rekeyTime, randTime: 0, overTime: 60 } : {}),
    ...(o.dpdDelay !== undefined ? { dpdDelay: o.dpdDelay } : {}),
    children: [child],
  };
}

/**
 * strongSwan's `encr-alg` + `encr-keysize` as one name (`AES_GCM_16-128`). Fixed-size ciphers are
 * compared without a size: strongSwan lists ChaCha20-Poly1305 without one, tsipsec with `-256`.
 */
export function swanEncrName(alg: string, keysize: number | undefined): string {
  return normalizeEncrName(keysize === undefined ? alg : `${alg}-${keysize}`);
}

/** Drops the size of fixed-size ciphers (`CHACHA20_POLY1305-256` -> `CHACHA20_POLY1305`). */
export function normalizeEncrName(name: string): string {
  return name.replace(/^CHACHA20_POLY1305-256$/, "CHACHA20_POLY1305");
}

export function swanIkeAlgorithms(sa: SwanIkeSa): ExpectedIke {
  return { encr: swanEncrName(sa.encrAlg, sa.encrKeysize), integ: sa.integAlg, prf: sa.prfAlg, ke: sa.dhGroup };
}

export function swanChildAlgorithms(c: SwanChildSa): { encr: string; integ: string | undefined; esn: boolean } {
  return { encr: swanEncrName(c.encrAlg, c.encrKeysize), integ: c.integAlg, esn: c.esn };
}
