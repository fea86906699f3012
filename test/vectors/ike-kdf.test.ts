import { describe, expect, it } from "vitest";
import { deriveChildSaKeymat, deriveIkeSaKeys, deriveRekeyedSkeyseed, deriveSkeyseed } from "../../src/crypto/keymat.js";
import { getEncr } from "../../src/crypto/encr.js";
import { getInteg } from "../../src/crypto/integ.js";
import { getPrf, prfPlus } from "../../src/crypto/prf.js";
import { Secret } from "../../src/crypto/secret.js";
import type { PrfAlgorithm } from "../../src/crypto/types.js";
import { EncrId, IntegId, PrfId } from "../../src/wire/ike/constants.js";
import { concat, fromHex, toHex } from "../../src/wire/hex.js";
import { readVectorJson, readVectorText } from "../crypto/vectors.js";

/** One NIST CAVS IKEv2 KDF vector (SP 800-135 s4.2 = RFC 7296 s2.13/2.14/2.17/2.18). */
interface KdfVector {
  readonly label: string;
  readonly hash: string;
  readonly dkmBits: number;
  readonly childDkmBits: number;
  readonly ni: string;
  readonly nr: string;
  readonly gir: string;
  readonly girNew: string;
  readonly spiI: string;
  readonly spiR: string;
  readonly skeyseed: string;
  readonly dkm: string;
  readonly dkmChild: string;
  readonly dkmChildDh: string;
  readonly skeyseedRekey: string;
}

const PRF_BY_HASH: Readonly<Record<string, number>> = {
  "SHA-1": PrfId.PRF_HMAC_SHA1,
  "SHA-256": PrfId.PRF_HMAC_SHA2_256,
  "SHA-384": PrfId.PRF_HMAC_SHA2_384,
  "SHA-512": PrfId.PRF_HMAC_SHA2_512,
};

function prfFor(hash: string): PrfAlgorithm {
  const id = PRF_BY_HASH[hash];
  if (id === undefined) throw new Error(`no PRF for ${hash}`);
  return getPrf(id);
}

/**
 * Parses the CAVS .fax format: `[name = value]` / `[SHA-x]` section headers that stay in force
 * until replaced, then `COUNT = n` blocks of `name = hex` lines.
 */
function parseFax(text: string): KdfVector[] {
  const header = new Map<string, string>();
  let hash = "";
  const out: KdfVector[] = [];
  let cur: Map<string, string> | undefined;
  const flush = (): void => {
    if (!cur) return;
    const get = (k: string): string => {
      const v = cur?.get(k);
      if (v === undefined) throw new Error(`fax vector COUNT=${cur?.get("COUNT")} lacks ${k}`);
      return v;
    };
    out.push({
      label: `${hash} g^ir=${header.get("g^ir length")} Ni=${header.get("Ni length")} COUNT=${get("COUNT")}`,
      hash,
      dkmBits: Number(header.get("DKM length")),
      childDkmBits: Number(header.get("Child SA DKM length")),
      ni: get("Ni"),
      nr: get("Nr"),
      gir: get("g^ir"),
      girNew: get("g^ir (new)"),
      spiI: get("SPIi"),
      spiR: get("SPIr"),
      skeyseed: get("SKEYSEED"),
      dkm: get("DKM"),
      dkmChild: get("DKM(Child SA)"),
      dkmChildDh: get("DKM(Child SA D-H)"),
      skeyseedRekey: get("SKEYSEED(Rekey)"),
    });
    cur = undefined;
  };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const bracket = /^\[(.+)\]$/.exec(line);
    if (bracket) {
      flush();
      const body = bracket[1] as string;
      const eq = body.indexOf("=");
      if (eq < 0) hash = body.trim();
      else header.set(body.slice(0, eq).trim(), body.slice(eq + 1).trim());
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0) throw new Error(`unparsed fax line: ${line}`);
    const name = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (name === "COUNT") {
      flush();
      cur = new Map();
    }
    cur?.set(name, value);
  }
  flush();
  return out;
}

/** Checks every CAVS output with the keymat.ts/prf.ts functions the IKE engine uses. */
function checkVector(v: KdfVector): void {
  const prf = prfFor(v.hash);
  const ni = fromHex(v.ni);
  const nr = fromHex(v.nr);
  // SKEYSEED = prf(Ni | Nr, g^ir)   (RFC 7296 s2.14)
  const skeyseed = deriveSkeyseed(prf, ni, nr, new Secret(fromHex(v.gir)));
  expect(toHex(skeyseed.expose()), `${v.label} SKEYSEED`).toBe(v.skeyseed);
  // {SK_d | ...} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)   (s2.14)
  const dkm = prfPlus(prf, skeyseed.expose(), concat(ni, nr, fromHex(v.spiI), fromHex(v.spiR)), v.dkmBits / 8);
  expect(toHex(dkm), `${v.label} DKM`).toBe(v.dkm);
  // SK_d = first prf-key-length bytes of DKM
  const skD = new Secret(dkm.slice(0, prf.keyLength));
  // KEYMAT = prf+(SK_d, Ni | Nr)   (s2.17)
  expect(toHex(prfPlus(prf, skD.expose(), concat(ni, nr), v.childDkmBits / 8)), `${v.label} DKM(Child SA)`).toBe(v.dkmChild);
  // KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr)   (s2.17)
  const girNew = fromHex(v.girNew);
  expect(toHex(prfPlus(prf, skD.expose(), concat(girNew, ni, nr), v.childDkmBits / 8)), `${v.label} DKM(Child SA D-H)`).toBe(v.dkmChildDh);
  // SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)   (s2.18)
  expect(toHex(deriveRekeyedSkeyseed(prf, skD, new Secret(girNew), ni, nr).expose()), `${v.label} SKEYSEED(Rekey)`).toBe(v.skeyseedRekey);
}

describe("RFC 7296 s2.13-2.18 key derivation: NIST CAVS 17.3 IKEv2 KDF (ike/nist-cavs/ikev2.fax)", () => {
  const vectors = parseFax(readVectorText("ike/nist-cavs/ikev2.fax"));

  it("parses all 900 vectors in 12 (hash, g^ir length) sections", () => {
    expect(vectors).toHaveLength(900);
    expect(new Set(vectors.map((v) => v.hash))).toEqual(new Set(["SHA-1", "SHA-256", "SHA-384", "SHA-512"]));
  });

  it("SKEYSEED, DKM, child DKM, child DKM with DH and rekey SKEYSEED match for every vector", () => {
    for (const v of vectors) checkVector(v);
  });
});

interface SubsetFile {
  readonly vectors: readonly {
    readonly id: string;
    readonly hash: string;
    readonly dkm_bits: string | number;
    readonly child_dkm_bits: string | number;
    readonly Ni: string;
    readonly Nr: string;
    readonly gir: string;
    readonly gir_new: string;
    readonly SPIi: string;
    readonly SPIr: string;
    readonly SKEYSEED: string;
    readonly DKM: string;
    readonly DKM_child: string;
    readonly DKM_child_dh: string;
    readonly SKEYSEED_rekey: string;
  }[];
}

describe("RFC 7296 s2.13-2.18 key derivation: NIST CAVS subset (ike/nist-cavs-ikev2-kdf-subset.json)", () => {
  const file = readVectorJson<SubsetFile>("ike/nist-cavs-ikev2-kdf-subset.json");

  it("holds the first vector of each of the 9 (hash, g^ir length, nonce length) sections", () => {
    expect(file.vectors.length).toBe(9);
  });

  for (const j of file.vectors) {
    it(j.id, () => {
      checkVector({
        label: j.id,
        hash: j.hash,
        dkmBits: Number(j.dkm_bits),
        childDkmBits: Number(j.child_dkm_bits),
        ni: j.Ni,
        nr: j.Nr,
        gir: j.gir,
        girNew: j.gir_new,
        spiI: j.SPIi,
        spiR: j.SPIr,
        skeyseed: j.SKEYSEED,
        dkm: j.DKM,
        dkmChild: j.DKM_child,
        dkmChildDh: j.DKM_child_dh,
        skeyseedRekey: j.SKEYSEED_rekey,
      });
    });
  }

  it("deriveIkeSaKeys splits the same DKM into SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr (s2.14)", () => {
    const j = file.vectors.find((v) => v.hash === "SHA-256" && Number(v.dkm_bits) >= 8 * (32 + 2 * 32 + 2 * 16 + 2 * 32));
    expect(j).toBeDefined();
    if (!j) return;
    const prf = getPrf(PrfId.PRF_HMAC_SHA2_256);
    const ni = fromHex(j.Ni);
    const nr = fromHex(j.Nr);
    const skeyseed = deriveSkeyseed(prf, ni, nr, fromHex(j.gir));
    const keys = deriveIkeSaKeys({
      prf,
      encr: getEncr(EncrId.ENCR_AES_CBC, 128),
      integ: getInteg(IntegId.AUTH_HMAC_SHA2_256_128),
      skeyseed,
      ni,
      nr,
      spiI: fromHex(j.SPIi),
      spiR: fromHex(j.SPIr),
    });
    const parts = [keys.skD, keys.skAi, keys.skAr, keys.skEi, keys.skEr, keys.skPi, keys.skPr].map((s) => toHex(s.expose()));
    expect(parts.map((p) => p.length / 2)).toEqual([32, 32, 32, 16, 16, 32, 32]);
    expect(j.DKM.startsWith(parts.join(""))).toBe(true);
  });

  it("deriveChildSaKeymat takes I->R encr, I->R integ, R->I encr, R->I integ from KEYMAT (s2.17)", () => {
    const j = file.vectors.find((v) => v.hash === "SHA-1");
    expect(j).toBeDefined();
    if (!j) return;
    const prf = getPrf(PrfId.PRF_HMAC_SHA1);
    const skD = new Secret(fromHex(j.DKM).slice(0, prf.keyLength));
    const encr = getEncr(EncrId.ENCR_AES_CBC, 256);
    const integ = getInteg(IntegId.AUTH_HMAC_SHA1_96);
    const withDh = deriveChildSaKeymat(prf, skD, fromHex(j.Ni), fromHex(j.Nr), new Secret(fromHex(j.gir_new)), encr, integ);
    const noDh = deriveChildSaKeymat(prf, skD, fromHex(j.Ni), fromHex(j.Nr), undefined, encr, integ);
    for (const [km, expected] of [[withDh, j.DKM_child_dh], [noDh, j.DKM_child]] as const) {
      const i2r = km.initiatorToResponder;
      const r2i = km.responderToInitiator;
      const joined = [i2r.encr, i2r.integ, r2i.encr, r2i.integ].map((s) => (s ? toHex(s.expose()) : "")).join("");
      expect(joined.length / 2).toBe(2 * (32 + 20));
      expect(expected.startsWith(joined)).toBe(true);
    }
  });
});
