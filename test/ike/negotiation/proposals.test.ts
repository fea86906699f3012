import { describe, it, expect } from "vitest";
import {
  checkChosenProposal,
  formatProposal,
  makeTransform,
  parseProposalString,
  ProposalStringError,
  selectProposal,
  suiteOf,
  trySuiteOf,
  type NoProposalChosen,
} from "../../../src/ike/negotiation/proposals.js";
import { EncrId, IntegId, KeId, NotifyType, PrfId, ProtocolId, TransformType } from "../../../src/wire/ike/constants.js";
import type { Proposal } from "../../../src/wire/ike/types.js";

const T = TransformType;

function withSpi(ps: Proposal[], spi: number[]): Proposal[] {
  return ps.map((p) => ({ ...p, spi: new Uint8Array(spi) }));
}

function ike(s: string): Proposal[] {
  return parseProposalString(s, "ike");
}
function esp(s: string): Proposal[] {
  return withSpi(parseProposalString(s, "esp"), [0xc0, 0x01, 0x02, 0x03]);
}

describe("strongSwan proposal strings (swanctl.conf proposals / esp_proposals)", () => {
  const table: Array<[string, "ike" | "esp" | "ah", string[]]> = [
    ["aes256gcm16-prfsha384-ecp384", "ike", ["IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384"]],
    ["aes128-sha256-modp2048", "ike", ["IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"]],
    ["aes128gcm16-esn", "esp", ["ESP:AES_GCM_16_128/EXT_SEQ"]],
    ["chacha20poly1305-prfsha256-x25519", "ike", ["IKE:CHACHA20_POLY1305/PRF_HMAC_SHA2_256/CURVE_25519"]],
    ["aes256-sha256-modp3072", "ike", ["IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_3072"]],
    ["aes256-sha256-modp3072", "esp", ["ESP:AES_CBC_256/HMAC_SHA2_256_128/MODP_3072/NO_EXT_SEQ"]],
    ["aes128-sha1-modp2048", "ike", ["IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048"]],
    ["aes128gcm16-ecp256", "esp", ["ESP:AES_GCM_16_128/ECP_256/NO_EXT_SEQ"]],
    ["aes256-sha1-modp1024", "ike", ["IKE:AES_CBC_256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024"]],
    ["aes128-sha1", "esp", ["ESP:AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ"]],
    ["aes128-sha256", "esp", ["ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ"]],
    ["aes256-sha1-modp1024", "esp", ["ESP:AES_CBC_256/HMAC_SHA1_96/MODP_1024/NO_EXT_SEQ"]],
    ["aes256gmac-sha256", "ah", ["AH:AES_256_GMAC/HMAC_SHA2_256_128/NO_EXT_SEQ"]],
    [
      "aes128-aes256-sha256-sha384-modp2048-ecp256",
      "ike",
      ["IKE:AES_CBC_128/AES_CBC_256/HMAC_SHA2_256_128/HMAC_SHA2_384_192/PRF_HMAC_SHA2_256/PRF_HMAC_SHA2_384/MODP_2048/ECP_256"],
    ],
    ["aes128gcm64-aes192gcm96-aes256gcm128-prfsha512-ecp521", "ike", ["IKE:AES_GCM_8_128/AES_GCM_12_192/AES_GCM_16_256/PRF_HMAC_SHA2_512/ECP_521"]],
    ["aes128gcm8-aes128gcm12", "esp", ["ESP:AES_GCM_8_128/AES_GCM_12_128/NO_EXT_SEQ"]],
    ["aes128ccm16-aes256ccm8", "esp", ["ESP:AES_CCM_16_128/AES_CCM_8_256/NO_EXT_SEQ"]],
    ["aes128ctr-aesxcbc-prfaesxcbc-modp4096", "ike", ["IKE:AES_CTR_128/AES_XCBC_96/PRF_AES128_XCBC/MODP_4096"]],
    ["3des-sha512-prfsha512-modp1536", "ike", ["IKE:3DES_CBC/HMAC_SHA2_512_256/PRF_HMAC_SHA2_512/MODP_1536"]],
    ["aes128-aescmac-prfaescmac-modp6144-modp8192", "ike", ["IKE:AES_CBC_128/AES_CMAC_96/PRF_AES128_CMAC/MODP_6144/MODP_8192"]],
    ["null-sha256", "esp", ["ESP:NULL/HMAC_SHA2_256_128/NO_EXT_SEQ"]],
    ["aes256gcm16-prfsha256-x448-curve25519", "ike", ["IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_448/CURVE_25519"]],
    ["aes128-sha256-esn-noesn", "esp", ["ESP:AES_CBC_128/HMAC_SHA2_256_128/EXT_SEQ/NO_EXT_SEQ"]],
    ["sha256", "ah", ["AH:HMAC_SHA2_256_128/NO_EXT_SEQ"]],
    // AEAD IKE proposal without prf: the PRF comes from the integrity keyword, which is dropped.
    ["aes128gcm16-sha256-ecp256", "ike", ["IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256"]],
    // AEAD and classic in one string: two proposals, in order of the first cipher.
    [
      "aes128gcm16-aes128-sha256-ecp256",
      "ike",
      ["IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256", "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256"],
    ],
    ["aes128-sha256-aes256gcm16", "esp", ["ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ", "ESP:AES_GCM_16_256/NO_EXT_SEQ"]],
    ["aes128-sha256-modp2048,aes256gcm16", "esp", ["ESP:AES_CBC_128/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ", "ESP:AES_GCM_16_256/NO_EXT_SEQ"]],
    ["AES128-SHA256-MODP2048", "ike", ["IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"]],
  ];
  it.each(table)("%s (%s)", (s, proto, expected) => {
    const ps = parseProposalString(s, proto);
    expect(ps.map(formatProposal)).toEqual(expected);
    expect(ps.map((p) => p.number)).toEqual(expected.map((_, i) => i + 1));
  });

  it("sets KEY_LENGTH 128/192/256 for AES and none for ChaCha20 (RFC 7634 s2: MUST NOT send one)", () => {
    const ps = ike("aes192-aes256gcm16-chacha20poly1305-sha256-prfsha256-ecp256");
    expect(ps[0]?.transforms[0]).toEqual(makeTransform(T.ENCR, EncrId.ENCR_AES_CBC, 192));
    expect(ps[1]?.transforms.filter((t) => t.type === T.ENCR)).toEqual([
      makeTransform(T.ENCR, EncrId.ENCR_AES_GCM_16, 256),
      makeTransform(T.ENCR, EncrId.ENCR_CHACHA20_POLY1305),
    ]);
  });

  it("default expands to AEAD and classic proposals that include the RFC 8247 MUST algorithms", () => {
    const ps = ike("default");
    expect(ps.length).toBe(2);
    const all = ps.flatMap((p) => p.transforms);
    expect(all).toContainEqual(makeTransform(T.ENCR, EncrId.ENCR_AES_CBC, 256));
    expect(all).toContainEqual(makeTransform(T.ENCR, EncrId.ENCR_AES_GCM_16, 256));
    expect(all).toContainEqual(makeTransform(T.KE, KeId.MODP_2048));
    expect(all).toContainEqual(makeTransform(T.PRF, PrfId.PRF_HMAC_SHA2_256));
    expect(ps[0]?.transforms.some((t) => t.type === T.INTEG)).toBe(false);
    const e = parseProposalString("aes256gcm16-ecp384, default", "esp");
    expect(e.length).toBe(3);
    expect(formatProposal(e[0] as Proposal)).toBe("ESP:AES_GCM_16_256/ECP_384/NO_EXT_SEQ");
  });

  const errors: Array<[string, "ike" | "esp" | "ah", string]> = [
    ["aes128-sha256-modp2047", "ike", "modp2047"],
    ["aes128-sha265-modp2048", "ike", "sha265"],
    ["aes256gcm16-ecp384", "ike", "aes256gcm16-ecp384"], // AEAD IKE needs a PRF
    ["aes128-sha256", "ike", "aes128-sha256"], // IKE needs KE
    ["aes128-prfsha256-ecp256", "ike", "aes128-prfsha256-ecp256"], // classic IKE needs INTEG
    ["aes128gcm16-esn-ecp256", "ike", "esn"],
    ["sha256-modp2048", "esp", "sha256-modp2048"],
    ["aes128-sha256", "ah", "aes128"],
    ["aes128--sha256", "esp", ""],
  ];
  it.each(errors)("rejects %s (%s) naming %s", (s, proto, token) => {
    let err: unknown;
    try {
      parseProposalString(s, proto);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProposalStringError);
    const pe = err as ProposalStringError;
    expect(pe.token).toBe(token);
    expect(pe.message).toContain(s);
    expect(pe.allowed.length).toBeGreaterThan(10);
  });

  it("lists the allowed keywords for an unknown token", () => {
    expect(() => parseProposalString("aes128-sha256-modp2047", "ike")).toThrow(/unknown algorithm keyword 'modp2047'.*modp2048/s);
  });
});

describe("RFC 7296 s2.7 / s3.3.6: the responder selects one proposal", () => {
  it("matches: echoes the offered number and SPI, one transform per type", () => {
    const offered = esp("aes128-sha1,aes256gcm16-ecp256,aes128gcm16");
    const configured = parseProposalString("aes128gcm16", "esp");
    const r = selectProposal(offered, configured, ProtocolId.ESP);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.number).toBe(3);
    expect([...r.value.spi]).toEqual([0xc0, 0x01, 0x02, 0x03]);
    expect(formatProposal(r.value)).toBe("ESP:AES_GCM_16_128/NO_EXT_SEQ");
  });

  it("the responder's own preference order wins over the offered order", () => {
    const offered = ike("aes128-aes256-sha256-sha512-ecp256-modp2048");
    const configured = ike("aes256-sha512-modp2048,aes128-sha256-ecp256");
    const r = selectProposal(offered, configured, ProtocolId.IKE);
    expect(r.ok && formatProposal(r.value)).toBe("IKE:AES_CBC_256/HMAC_SHA2_512_256/PRF_HMAC_SHA2_512/MODP_2048");
    // Reordered configuration: the other choice.
    const r2 = selectProposal(offered, ike("aes128-sha256-ecp256,aes256-sha512-modp2048"), ProtocolId.IKE);
    expect(r2.ok && formatProposal(r2.value)).toBe("IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256");
  });

  it("prefers the group of the received KE payload when both sides accept it (s1.2)", () => {
    const offered = ike("aes256gcm16-prfsha256-ecp256-x25519-modp3072");
    const configured = ike("aes256gcm16-prfsha256-x25519-modp3072-ecp256");
    const plain = selectProposal(offered, configured, ProtocolId.IKE);
    expect(plain.ok && plain.value.transforms.find((t) => t.type === T.KE)?.id).toBe(KeId.CURVE25519);
    const pref = selectProposal(offered, configured, ProtocolId.IKE, { preferKe: KeId.MODP_3072 });
    expect(pref.ok && pref.value.transforms.find((t) => t.type === T.KE)?.id).toBe(KeId.MODP_3072);
    // A group we did not configure is not forced on us.
    const notOurs = selectProposal(ike("aes256gcm16-prfsha256-ecp256-ecp384"), configured, ProtocolId.IKE, { preferKe: KeId.ECP_384 });
    expect(notOurs.ok && notOurs.value.transforms.find((t) => t.type === T.KE)?.id).toBe(KeId.ECP_256);
  });

  type Case = { name: string; offered: Proposal[]; configured: Proposal[]; protocol: number; mismatch: number | undefined };
  const mismatches: Case[] = [
    { name: "key length mismatch (AES-CBC-128 vs AES-CBC-256)", offered: esp("aes128-sha256"), configured: esp("aes256-sha256"), protocol: ProtocolId.ESP, mismatch: T.ENCR },
    { name: "missing ESN (peer wants esn only)", offered: esp("aes128gcm16-esn"), configured: esp("aes128gcm16-noesn"), protocol: ProtocolId.ESP, mismatch: T.ESN },
    { name: "KE mismatch", offered: ike("aes128-sha256-modp2048"), configured: ike("aes128-sha256-ecp256"), protocol: ProtocolId.IKE, mismatch: T.KE },
    { name: "PFS on one side only", offered: esp("aes128gcm16-ecp256"), configured: esp("aes128gcm16"), protocol: ProtocolId.ESP, mismatch: T.KE },
    { name: "no PFS offered but required", offered: esp("aes128gcm16"), configured: esp("aes128gcm16-ecp256"), protocol: ProtocolId.ESP, mismatch: T.KE },
    { name: "integrity mismatch", offered: esp("aes128-sha1"), configured: esp("aes128-sha256"), protocol: ProtocolId.ESP, mismatch: T.INTEG },
    { name: "PRF mismatch", offered: ike("aes256gcm16-prfsha256-ecp256"), configured: ike("aes256gcm16-prfsha384-ecp256"), protocol: ProtocolId.IKE, mismatch: T.PRF },
    { name: "protocol mismatch", offered: esp("aes128-sha1"), configured: esp("aes128-sha1"), protocol: ProtocolId.AH, mismatch: undefined },
  ];
  it.each(mismatches)("$name -> NO_PROPOSAL_CHOSEN naming the type", ({ offered, configured, protocol, mismatch }) => {
    const r = selectProposal(offered, configured, protocol);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const e: NoProposalChosen = r.error;
    expect(e.notify).toBe(NotifyType.NO_PROPOSAL_CHOSEN);
    expect(e.name).toBe("NO_PROPOSAL_CHOSEN");
    expect(e.mismatchType).toBe(mismatch);
    // Both sides' proposals are in the message.
    for (const p of offered) expect(e.message).toContain(formatProposal(p));
    for (const p of configured) expect(e.message).toContain(formatProposal(p));
  });

  it("shows the closest pair side by side and marks the type with no overlap", () => {
    const r = selectProposal(ike("aes256gcm16-prfsha256-modp3072"), ike("aes256gcm16-prfsha256-modp4096"), ProtocolId.IKE);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const lines = r.error.message.split("\n");
    const keLine = lines.find((l) => l.includes("MODP_3072") && l.includes("|"));
    expect(keLine).toMatch(/KE\s+\|\s+MODP_3072\s+\|\s+MODP_4096\s+<-- no overlap/);
    expect(lines.find((l) => l.includes("ENCR") && l.includes("|"))).not.toContain("<--");
    expect(r.error.message).toContain("first Transform Type with no overlap: KE");
    // Every other type without overlap is marked too, so one round of fixes suffices.
    const r2 = selectProposal(esp("aes128gcm16-esn"), esp("aes128gcm16-ecp256"), ProtocolId.ESP);
    expect(!r2.ok && r2.error.message).toMatch(/KE\s+\|\s+-\s+\|\s+ECP_256\s+<-- no overlap/);
    expect(!r2.ok && r2.error.message).toMatch(/ESN\s+\|\s+EXT_SEQ\s+\|\s+NO_EXT_SEQ\s+<-- also no overlap/);
    expect(r.error.fault).toBe("config");
  });

  it("s3.3.5: a transform lacking the mandatory KEY_LENGTH or with a wrong one does not match", () => {
    const noKl: Proposal = { number: 1, protocol: ProtocolId.ESP, spi: new Uint8Array(4), transforms: [makeTransform(T.ENCR, EncrId.ENCR_AES_CBC), makeTransform(T.INTEG, IntegId.AUTH_HMAC_SHA2_256_128), makeTransform(T.ESN, 0)] };
    const r = selectProposal([noKl], esp("aes128-sha256"), ProtocolId.ESP);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain("KEY_LENGTH attribute missing");
    const chachaKl: Proposal = { number: 1, protocol: ProtocolId.ESP, spi: new Uint8Array(4), transforms: [makeTransform(T.ENCR, EncrId.ENCR_CHACHA20_POLY1305, 256), makeTransform(T.ESN, 0)] };
    expect(selectProposal([chachaKl], esp("chacha20poly1305"), ProtocolId.ESP).ok).toBe(false);
  });

  it("s3.3.6: an unknown attribute rejects only that transform; an unknown Transform Type rejects the proposal", () => {
    const odd = makeTransform(T.ENCR, EncrId.ENCR_AES_GCM_16, 128);
    odd.attributes.push({ type: 99, format: "tv", value: 1 });
    const p: Proposal = { number: 7, protocol: ProtocolId.ESP, spi: new Uint8Array(4), transforms: [odd, makeTransform(T.ENCR, EncrId.ENCR_AES_GCM_16, 256), makeTransform(T.ESN, 0)] };
    const r = selectProposal([p], esp("aes128gcm16-aes256gcm16"), ProtocolId.ESP);
    expect(r.ok && formatProposal(r.value)).toBe("ESP:AES_GCM_16_256/NO_EXT_SEQ");
    const withType9: Proposal = { ...p, transforms: [...p.transforms, { type: 9, id: 1, attributes: [] }] };
    const r2 = selectProposal([withType9, { ...p, number: 8 }], esp("aes256gcm16"), ProtocolId.ESP);
    expect(r2.ok && r2.value.number).toBe(8);
    const r3 = selectProposal([withType9], esp("aes256gcm16"), ProtocolId.ESP);
    expect(!r3.ok && r3.error.mismatchType).toBe(9);
  });

  it("KE NONE offered lets a responder without PFS accept; INTEG NONE with AEAD is echoed", () => {
    const r = selectProposal(esp("aes128gcm16-ecp256-none"), esp("aes128gcm16"), ProtocolId.ESP);
    expect(r.ok && r.value.transforms.find((t) => t.type === T.KE)?.id).toBe(KeId.NONE);
    const aeadIntegNone: Proposal = { number: 1, protocol: ProtocolId.IKE, spi: new Uint8Array(0), transforms: [makeTransform(T.ENCR, EncrId.ENCR_AES_GCM_16, 256), makeTransform(T.INTEG, IntegId.NONE), makeTransform(T.PRF, PrfId.PRF_HMAC_SHA2_256), makeTransform(T.KE, KeId.ECP_256)] };
    const r2 = selectProposal([aeadIntegNone], ike("aes256gcm16-prfsha256-ecp256"), ProtocolId.IKE);
    expect(r2.ok && r2.value.transforms.length).toBe(4);
  });

  it("an offered proposal missing a mandatory type (IKE without PRF) is unacceptable", () => {
    const p: Proposal = { number: 1, protocol: ProtocolId.IKE, spi: new Uint8Array(0), transforms: [makeTransform(T.ENCR, EncrId.ENCR_AES_GCM_16, 256), makeTransform(T.KE, KeId.ECP_256)] };
    const r = selectProposal([p], ike("aes256gcm16-prfsha256-ecp256"), ProtocolId.IKE);
    expect(!r.ok && r.error.mismatchType).toBe(T.PRF);
  });
});

describe("RFC 7296 s3.3.6: the initiator checks the responder's choice", () => {
  const sent = esp("aes128-aes256-sha256-sha1,aes256gcm16");
  it("accepts a subset of a sent proposal", () => {
    const chosen: Proposal = { number: 1, protocol: ProtocolId.ESP, spi: new Uint8Array([1, 2, 3, 4]), transforms: [makeTransform(T.ENCR, EncrId.ENCR_AES_CBC, 256), makeTransform(T.INTEG, IntegId.AUTH_HMAC_SHA1_96), makeTransform(T.ESN, 0)] };
    expect(checkChosenProposal(sent, chosen).ok).toBe(true);
  });
  const bad: Array<[string, Proposal]> = [
    ["unknown number", { number: 5, protocol: ProtocolId.ESP, spi: new Uint8Array(4), transforms: [] }],
    ["two ENCR", { number: 1, protocol: ProtocolId.ESP, spi: new Uint8Array(4), transforms: [makeTransform(T.ENCR, EncrId.ENCR_AES_CBC, 256), makeTransform(T.ENCR, EncrId.ENCR_AES_CBC, 128), makeTransform(T.INTEG, 2), makeTransform(T.ESN, 0)] }],
    ["not offered key length", { number: 1, protocol: ProtocolId.ESP, spi: new Uint8Array(4), transforms: [makeTransform(T.ENCR, EncrId.ENCR_AES_CBC, 192), makeTransform(T.INTEG, 2), makeTransform(T.ESN, 0)] }],
    ["missing INTEG", { number: 1, protocol: ProtocolId.ESP, spi: new Uint8Array(4), transforms: [makeTransform(T.ENCR, EncrId.ENCR_AES_CBC, 256), makeTransform(T.ESN, 0)] }],
    ["wrong protocol", { number: 2, protocol: ProtocolId.AH, spi: new Uint8Array(4), transforms: [makeTransform(T.ENCR, EncrId.ENCR_AES_GCM_16, 256), makeTransform(T.ESN, 0)] }],
    ["bad SPI size", { number: 2, protocol: ProtocolId.ESP, spi: new Uint8Array(8), transforms: [makeTransform(T.ENCR, EncrId.ENCR_AES_GCM_16, 256), makeTransform(T.ESN, 0)] }],
  ];
  it.each(bad)("rejects %s", (_name, chosen) => {
    const r = checkChosenProposal(sent, chosen);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.fault).toBe("peer");
      expect(r.error.message).toContain("we did not offer");
    }
  });
});

describe("suiteOf: the crypto objects of a chosen proposal", () => {
  it.each([
    ["aes256gcm16-prfsha384-ecp384", "ike", { encr: "ENCR_AES_GCM_16", keyLength: 32, integ: undefined, prf: "PRF_HMAC_SHA2_384", ke: 20, esn: false }],
    ["aes128-sha256-modp2048", "ike", { encr: "ENCR_AES_CBC", keyLength: 16, integ: "AUTH_HMAC_SHA2_256_128", prf: "PRF_HMAC_SHA2_256", ke: 14, esn: false }],
    ["chacha20poly1305-prfsha256-x25519", "ike", { encr: "ENCR_CHACHA20_POLY1305", keyLength: 32, integ: undefined, prf: "PRF_HMAC_SHA2_256", ke: 31, esn: false }],
    ["aes128gcm16-esn", "esp", { encr: "ENCR_AES_GCM_16", keyLength: 16, integ: undefined, prf: undefined, ke: undefined, esn: true }],
    ["aes256-sha1-modp1024", "esp", { encr: "ENCR_AES_CBC", keyLength: 32, integ: "AUTH_HMAC_SHA1_96", prf: undefined, ke: 2, esn: false }],
  ] as const)("%s (%s)", (s, proto, want) => {
    const [p] = parseProposalString(s, proto);
    const suite = suiteOf(p as Proposal);
    expect(suite.encr.name.startsWith(want.encr)).toBe(true);
    expect(suite.encr.keyLength).toBe(want.keyLength);
    expect(suite.integ?.name).toBe(want.integ);
    expect(suite.prf?.name).toBe(want.prf);
    expect(suite.ke?.id).toBe(want.ke);
    expect(suite.esn).toBe(want.esn);
  });
  it("an unimplemented algorithm becomes NO_PROPOSAL_CHOSEN (config) from trySuiteOf", () => {
    const [p] = parseProposalString("camellia128-sha256-modp2048", "ike");
    const r = trySuiteOf(p as Proposal);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain("IKE:CAMELLIA_CBC_128");
  });
});
