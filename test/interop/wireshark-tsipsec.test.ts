/**
 * Wireshark (tshark 4.0) as an independent judge of a tsipsec <-> tsipsec session: two tsipsec
 * gateways (gw-a initiates, gw-b responds), both with `daemon.save_keys`, tcpdump on gw-a's outer
 * link, and then tshark decrypts, with the rows the two daemons exported
 * (src/drivers/key-export.ts):
 * - every IKE_AUTH message (RFC 7296 s1.2) down to IDi/IDr, AUTH, SA, TSi/TSr;
 * - every CREATE_CHILD_SA message (RFC 7296 s1.3): a Child SA rekey (s1.3.3, N(REKEY_SA), TSi/TSr)
 *   before and after an IKE SA rekey (s1.3.2, KE and no TS), so the rows of the new IKE SA (new
 *   SPIs, new SK_e/SK_a from SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), s2.18) are needed;
 * - every INFORMATIONAL message (the Deletes after the rekeys and at `down`);
 * - every ESP packet (RFC 4303) down to the inner ICMP echo or TCP segment between the hosts.
 * Both gateways must have exported the same rows: they derived the same keys independently.
 *
 * tshark also checks integrity: no IKE message fails its ICD / GCM tag, every ESP packet has
 * esp.icv_good (esp.enable_authentication_check), and a flipped bit in a key row is noticed.
 *
 * Rows: the algorithms tshark 4.0 can decrypt in both tables, AES-GCM-128/256 (combined mode,
 * RFC 5282 / RFC 4106) and AES-CBC-128/256 with HMAC-SHA2-256/384/512 (RFC 3602 / RFC 4868), with
 * x25519 as the cheap KE. ChaCha20-Poly1305 is not here: tshark 4.0 cannot decrypt it in IKEv2 and
 * key-export.ts does not export it there.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSiteToSite, SITE_TO_SITE_ADDRESSES, uniqueSuffix, type Topology } from "../../src/drivers/netns.js";
import type { ChildSaStatus, IkeSaStatus } from "../../src/control/protocol.js";
import { ensureStrongSwanInstalled, waitFor } from "../support/strongswan.js";
import { siteConnection } from "./harness/matrix.js";
import { pingAfterWarmup, tcpTransfer } from "./harness/traffic.js";
import { TsipsecGateway } from "./harness/tsipsec.js";
import { startCapture, tsharkFields, uatRows, type Capture } from "./harness/wireshark.js";

const S = SITE_TO_SITE_ADDRESSES;

/** IKEv2 payload types (RFC 7296 s3.2, IANA "IKEv2 Payload Types") as tshark prints isakmp.typepayload. */
const PT = { SA: "33", KE: "34", IDi: "35", IDr: "36", AUTH: "39", NONCE: "40", NOTIFY: "41", DELETE: "42", TSi: "44", TSr: "45", SK: "46" } as const;
/** Exchange types (RFC 7296 s3.1). */
const EXCH = { IKE_AUTH: "35", CREATE_CHILD_SA: "36", INFORMATIONAL: "37" } as const;

interface WiresharkRow {
  ike: string;
  esp: string;
  /** Names the exported rows must carry (Wireshark 4.0's own spelling, key-export.ts). */
  ikev2Encr: string;
  ikev2Integ: string;
  espEncr: string;
  espAuth: string;
}

const ROWS: readonly WiresharkRow[] = [
  {
    ike: "aes128gcm16-prfsha256-x25519",
    esp: "aes128gcm16",
    ikev2Encr: "AES-GCM-128 with 16 octet ICV [RFC5282]",
    ikev2Integ: "NONE [RFC4306]",
    espEncr: "AES-GCM with 16 octet ICV [RFC4106]",
    espAuth: "NULL",
  },
  {
    ike: "aes128-sha256-x25519",
    esp: "aes128-sha256",
    ikev2Encr: "AES-CBC-128 [RFC3602]",
    ikev2Integ: "HMAC_SHA2_256_128 [RFC4868]",
    espEncr: "AES-CBC [RFC3602]",
    espAuth: "HMAC-SHA-256-128 [RFC4868]",
  },
  {
    ike: "aes256gcm16-prfsha384-x25519",
    esp: "aes256gcm16",
    ikev2Encr: "AES-GCM-256 with 16 octet ICV [RFC5282]",
    ikev2Integ: "NONE [RFC4306]",
    espEncr: "AES-GCM with 16 octet ICV [RFC4106]",
    espAuth: "NULL",
  },
  {
    ike: "aes256-sha384-x25519",
    esp: "aes256-sha512",
    ikev2Encr: "AES-CBC-256 [RFC3602]",
    ikev2Integ: "HMAC_SHA2_384_192 [RFC4868]",
    espEncr: "AES-CBC [RFC3602]",
    espAuth: "HMAC-SHA-512-256 [RFC4868]",
  },
];

/** The one ESTABLISHED IKE SA with one INSTALLED Child SA a gateway lists, or undefined. */
async function settled(gw: TsipsecGateway): Promise<{ ike: IkeSaStatus; child: ChildSaStatus } | undefined> {
  const sas = await gw.listSas();
  const [ike] = sas;
  if (sas.length !== 1 || ike === undefined || ike.state !== "ESTABLISHED") return undefined;
  const installed = ike.children.filter((c) => c.state === "INSTALLED");
  const [child] = installed;
  if (ike.children.length !== 1 || child === undefined) return undefined;
  return { ike, child };
}

interface Generation {
  ike: IkeSaStatus;
  /** gw-a's view: spiIn is the SPI gw-b sends to, spiOut the one gw-a sends with. */
  child: ChildSaStatus;
}

/**
 * Waits until both gateways list one IKE SA with one Child SA that agree (same IKE SPIs, Child SPIs
 * crossed, RFC 7296 s2.17) and that `changed` accepts (e.g. new SPIs after a rekey).
 */
async function waitAgreed(a: TsipsecGateway, b: TsipsecGateway, what: string, changed: (g: Generation) => boolean): Promise<Generation> {
  return waitFor(
    what,
    async () => {
      const [x, y] = await Promise.all([settled(a), settled(b)]);
      if (x === undefined || y === undefined) return undefined;
      if (x.ike.spiI !== y.ike.spiI || x.ike.spiR !== y.ike.spiR) return undefined;
      if (x.child.spiIn !== y.child.spiOut || x.child.spiOut !== y.child.spiIn) return undefined;
      const g = { ike: x.ike, child: x.child };
      return changed(g) ? g : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 100 },
  );
}

/** tshark's `-e` output splits repeated fields with commas. */
function values(field: string | undefined): string[] {
  return field === undefined || field === "" ? [] : field.split(",");
}

async function traffic(topo: Topology, port: number): Promise<void> {
  const ping = await pingAfterWarmup(topo, topo.ns.hostA, S.hostB.v4, 3);
  expect(ping.received, ping.output).toBe(3);
  const tcp = await tcpTransfer(topo, { serverNs: topo.ns.hostB, serverAddress: S.hostB.v4, clientNs: topo.ns.hostA, port, size: 16 * 1024 });
  expect(tcp.ok, tcp.detail).toBe(true);
}

describe("Wireshark decrypts a captured tsipsec <-> tsipsec session with both daemons' exported keys (RFC 7296 s1.2, s1.3, s2.18; RFC 4303)", () => {
  let topology: Topology | undefined;
  let dir = "";

  beforeAll(async () => {
    // Installs tshark and tcpdump too (scripts/ensure-system-packages.sh); a failed install fails.
    await ensureStrongSwanInstalled();
    topology = await createSiteToSite({ suffix: uniqueSuffix("wst") });
    dir = mkdtempSync(join(tmpdir(), "tsipsec-wireshark-tt-"));
  }, 600_000);

  afterAll(async () => {
    try {
      await topology?.destroy();
    } finally {
      if (dir !== "") rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const [index, row] of ROWS.entries()) {
    it(`IKE ${row.ike} / ESP ${row.esp}: every IKE_AUTH, CREATE_CHILD_SA (Child and IKE rekey) and INFORMATIONAL message and every ESP packet decrypts`, { timeout: 90_000 }, async () => {
      const topo = topology!;
      const conn = { ike: row.ike, esp: row.esp };
      const diagnostics: string[] = [];
      let gwA: TsipsecGateway | undefined;
      let gwB: TsipsecGateway | undefined;
      let capture: Capture | undefined;
      try {
        gwB = await TsipsecGateway.start({ topology: topo, namespace: topo.ns.gwB, label: "gw-b", saveKeys: true }, [siteConnection("b", conn)]);
        gwA = await TsipsecGateway.start({ topology: topo, namespace: topo.ns.gwA, label: "gw-a", saveKeys: true }, [siteConnection("a", conn)]);
        const a = gwA;
        const b = gwB;
        capture = await startCapture(topo, topo.ns.gwA, "wan0", join(dir, `outer-${index}.pcap`), "udp or esp");

        // IKE_SA_INIT + IKE_AUTH, then traffic on the first Child SA.
        await a.up("s2s");
        const g0 = await waitAgreed(a, b, "the first IKE SA and Child SA on both gateways", () => true);
        await traffic(topo, 5301);

        // CREATE_CHILD_SA rekeying the Child SA (operator command on gw-a).
        const r1 = await a.cli(["rekey", "s2s/net"]);
        expect(r1.code, `tsipsec rekey s2s/net: ${r1.stdout}${r1.stderr}`).toBe(0);
        const g1 = await waitAgreed(a, b, "the rekeyed Child SA", (g) => g.child.spiIn !== g0.child.spiIn && g.child.spiOut !== g0.child.spiOut);

        // CREATE_CHILD_SA rekeying the IKE SA, from the responder's side this time (gw-b).
        const r2 = await b.cli(["rekey", "s2s", "--ike"]);
        expect(r2.code, `tsipsec rekey s2s --ike: ${r2.stdout}${r2.stderr}`).toBe(0);
        const g2 = await waitAgreed(a, b, "the rekeyed IKE SA", (g) => g.ike.spiI !== g0.ike.spiI && g.ike.spiR !== g0.ike.spiR);

        // A Child SA rekey on the new IKE SA: its CREATE_CHILD_SA needs the new IKE SA's row.
        const r3 = await a.cli(["rekey", "s2s/net"]);
        expect(r3.code, `tsipsec rekey s2s/net: ${r3.stdout}${r3.stderr}`).toBe(0);
        const g3 = await waitAgreed(a, b, "the Child SA rekeyed on the new IKE SA", (g) => g.child.spiIn !== g2.child.spiIn && g.child.spiIn !== g1.child.spiIn && g.child.spiIn !== g0.child.spiIn);
        expect([g3.ike.spiI, g3.ike.spiR]).toEqual([g2.ike.spiI, g2.ike.spiR]);
        await traffic(topo, 5302);

        await a.down("s2s");
        await waitFor("both gateways to forget the SAs", async () => (await a.listSas()).length === 0 && (await b.listSas()).length === 0, { timeoutMs: 15_000 });
        await capture.stop();

        // --- The exported tables: private, the same on both gateways, one IKE row per IKE SA. ---
        for (const gw of [a, b]) {
          for (const t of ["ikev2_decryption_table", "esp_sa"]) {
            expect(statSync(join(gw.dir, t)).mode & 0o777, `${gw.options.label} ${t} is 0600`).toBe(0o600);
          }
        }
        const ta = a.keyTables();
        const tb = b.keyTables();
        diagnostics.push(`gw-a ikev2_decryption_table:\n${ta.ikev2}\ngw-b ikev2_decryption_table:\n${tb.ikev2}\ngw-a esp_sa:\n${ta.esp}\ngw-b esp_sa:\n${tb.esp}`);
        const ikev2 = uatRows(ta.ikev2);
        const esp = uatRows(ta.esp);
        expect(new Set(uatRows(tb.ikev2)), "both gateways derived the same IKE SA keys").toEqual(new Set(ikev2));
        expect(new Set(uatRows(tb.esp)), "both gateways derived the same ESP keys").toEqual(new Set(esp));
        // The IKE SA of IKE_AUTH and the one the rekey created, in that order (rows are appended).
        expect(ikev2.map((r) => r.split(",").slice(0, 2).join(","))).toEqual([`${g0.ike.spiI},${g0.ike.spiR}`, `${g2.ike.spiI},${g2.ike.spiR}`]);
        for (const r of ikev2) expect(r, "IKE row algorithms").toContain(`"${row.ikev2Encr}"`);
        for (const r of ikev2) expect(r.endsWith(`"${row.ikev2Integ}"`), r).toBe(true);
        expect(ikev2[0]?.split(",").slice(2, 4), "the rekeyed IKE SA has new SK_e").not.toEqual(ikev2[1]?.split(",").slice(2, 4));
        // Two ESP rows (inbound, outbound) per Child SA; every generation seen is there.
        expect(esp.length % 2).toBe(0);
        for (const g of [g0, g1, g2, g3]) {
          for (const [src, dst, spi] of [[S.gwBWan.v4, S.gwAWan.v4, g.child.spiIn], [S.gwAWan.v4, S.gwBWan.v4, g.child.spiOut]] as const) {
            const prefix = `"IPv4","${src}","${dst}","0x${spi}","${row.espEncr}",`;
            const r = esp.find((x) => x.startsWith(prefix));
            expect(r, `esp_sa row ${prefix}`).toBeDefined();
            expect(r?.includes(`"${row.espAuth}"`), r).toBe(true);
          }
        }
        const keys = { ikev2, esp };

        // --- IKE: every encrypted message decrypts, with the payloads its exchange must carry. ---
        const ikeFields = ["frame.number", "isakmp.exchangetype", "isakmp.ispi", "isakmp.rspi", "isakmp.flag_r", "isakmp.typepayload", "isakmp.enc.decrypted"];
        const ike = await tsharkFields(capture.file, keys, "isakmp", ikeFields);
        diagnostics.push(`tshark IKE (all rows):\n${ike.result.stdout}${ike.result.stderr}`);
        expect(ike.result.code, ike.result.stderr).toBe(0);
        const msgs = ike.lines.map((l) => {
          const [frame, exch, ispi, rspi, response, types, decrypted] = l.split("\t");
          return { frame: Number(frame), exch: exch ?? "", spi: `${ispi ?? ""},${rspi ?? ""}`, response: response === "1" || response === "True", types: values(types), decrypted: (decrypted ?? "") !== "" };
        });
        const encrypted = msgs.filter((m) => m.exch !== "34");
        const undecrypted = encrypted.filter((m) => !m.decrypted);
        expect(undecrypted.map((m) => m.frame), "frames with an SK payload tshark did not decrypt").toEqual([]);
        for (const m of encrypted) expect(m.types, `frame ${m.frame}: SK (46) then inner payloads`).toContain(PT.SK);

        const auth = encrypted.filter((m) => m.exch === EXCH.IKE_AUTH);
        expect(auth.length, "IKE_AUTH request and response").toBe(2);
        for (const m of auth) {
          expect(m.spi).toBe(`${g0.ike.spiI},${g0.ike.spiR}`);
          const want = [m.response ? PT.IDr : PT.IDi, PT.AUTH, PT.SA, PT.TSi, PT.TSr];
          expect(want.filter((t) => !m.types.includes(t)), `frame ${m.frame} (IKE_AUTH ${m.response ? "response" : "request"}) inner payloads ${m.types.join(",")}`).toEqual([]);
        }

        const ccsa = encrypted.filter((m) => m.exch === EXCH.CREATE_CHILD_SA);
        for (const m of ccsa) {
          expect([PT.SA, PT.NONCE].filter((t) => !m.types.includes(t)), `frame ${m.frame} (CREATE_CHILD_SA) inner payloads ${m.types.join(",")}`).toEqual([]);
        }
        const oldSpi = `${g0.ike.spiI},${g0.ike.spiR}`;
        const newSpi = `${g2.ike.spiI},${g2.ike.spiR}`;
        // The IKE SA rekey (s1.3.2): SA, Ni/Nr, KE and no TS, carried by the old IKE SA.
        const ikeRekey = ccsa.filter((m) => m.types.includes(PT.KE) && !m.types.includes(PT.TSi));
        expect(ikeRekey.map((m) => [m.spi, m.response]), "IKE SA rekey request and response on the old IKE SA").toEqual([
          [oldSpi, false],
          [oldSpi, true],
        ]);
        // Child SA rekeys (s1.3.3): TSi/TSr, at least one on each IKE SA (the second needs the new row).
        const childRekeys = ccsa.filter((m) => m.types.includes(PT.TSi) && m.types.includes(PT.TSr));
        expect(childRekeys.filter((m) => m.spi === oldSpi).length, "Child SA rekey messages on the first IKE SA").toBeGreaterThanOrEqual(2);
        expect(childRekeys.filter((m) => m.spi === newSpi).length, "Child SA rekey messages on the rekeyed IKE SA").toBeGreaterThanOrEqual(2);
        expect(childRekeys.filter((m) => !m.response).every((m) => m.types.includes(PT.NOTIFY)), "N(REKEY_SA) in every Child SA rekey request").toBe(true);
        expect(ccsa.length, "every CREATE_CHILD_SA message is an IKE or a Child SA rekey").toBe(ikeRekey.length + childRekeys.length);
        // INFORMATIONAL: the Deletes of the rekeyed SAs and of `down`, the last on the new IKE SA.
        const info = encrypted.filter((m) => m.exch === EXCH.INFORMATIONAL);
        expect(info.some((m) => m.spi === newSpi && m.types.includes(PT.DELETE)), "a Delete on the new IKE SA").toBe(true);

        // tshark verified every message's integrity (HMAC ICD, or the GCM tag)...
        const icd = await tsharkFields(capture.file, keys, "isakmp.ikev2.integrity_checksum", ["frame.number"]);
        diagnostics.push(`tshark IKE integrity (all rows):\n${icd.result.stdout}${icd.result.stderr}`);
        expect(icd.lines, "frames whose integrity checksum tshark rejects").toEqual([]);
        // ... and would have noticed a wrong key: one flipped bit of SK_ai (for AEAD, of SK_ei's
        // salt) in the first IKE SA's row fails the integrity check of the IKE_AUTH request.
        const flip = row.ikev2Integ === "NONE [RFC4306]" ? 2 : 5;
        const corrupt = ikev2.map((r, i) => (i === 0 ? r.split(",").map((f, j) => (j === flip ? f.slice(0, -1) + (Number.parseInt(f.slice(-1), 16) ^ 1).toString(16) : f)).join(",") : r));
        const broken = await tsharkFields(capture.file, { ikev2: corrupt, esp: [] }, `isakmp.exchangetype == 35 && isakmp.flag_r == 0`, ["frame.number", "isakmp.typepayload", "isakmp.ikev2.integrity_checksum"]);
        diagnostics.push(`tshark IKE_AUTH request with a corrupted key:\n${broken.result.stdout}${broken.result.stderr}`);
        expect(broken.lines.length).toBe(1);
        const brokenFields = (broken.lines[0] ?? "").split("\t");
        // (tshark 4.0 raises the same expert item for a wrong HMAC ICD and for a wrong GCM tag.)
        expect(brokenFields[2] ?? "", `IKE_AUTH request with a corrupted ${flip === 5 ? "SK_ai" : "SK_ei"}: ${broken.lines[0] ?? ""}`).not.toBe("");

        // The rekeyed IKE SA's row is the one that decrypts its messages: without it they stay sealed.
        const firstOnly = await tsharkFields(capture.file, { ikev2: ikev2.slice(0, 1), esp: [] }, `isakmp.ispi == ${g2.ike.spiI.replace(/(..)(?!$)/g, "$1:")}`, ["frame.number", "isakmp.enc.decrypted"]);
        diagnostics.push(`tshark IKE (first row only):\n${firstOnly.result.stdout}${firstOnly.result.stderr}`);
        expect(firstOnly.lines.length, "messages on the new IKE SA").toBe(msgs.filter((m) => m.spi === newSpi).length);
        expect(firstOnly.lines.filter((l) => (l.split("\t")[1] ?? "") !== "").length, "decrypted without the new IKE SA's row").toBe(0);

        // --- ESP: every packet decrypts to the inner ICMP echo or TCP segment between the hosts. ---
        const espOut = await tsharkFields(capture.file, keys, "esp", ["frame.number", "esp.spi", "ip.src", "ip.dst", "ip.proto", "icmp.type", "tcp.len", "esp.icv_good", "esp.icv_bad"], ["esp.enable_authentication_check:TRUE"]);
        diagnostics.push(`tshark ESP:\n${espOut.result.stdout}${espOut.result.stderr}`);
        expect(espOut.result.code, espOut.result.stderr).toBe(0);
        const packets = espOut.lines.map((l) => {
          const [frame, spi, src, dst, proto, icmp, tcpLen, good, bad] = l.split("\t");
          return { frame, spi: spi ?? "", src: values(src), dst: values(dst), proto: values(proto), icmp: icmp ?? "", tcp: tcpLen ?? "", good: good ?? "", bad: bad ?? "" };
        });
        const hosts = new Set<string>([S.hostA.v4, S.hostB.v4]);
        const bad = packets.filter((p) => {
          const inner = p.proto[1];
          const innerOk = p.src.length === 2 && hosts.has(p.src[1] ?? "") && hosts.has(p.dst[1] ?? "") && ((inner === "1" && p.icmp !== "") || (inner === "6" && p.tcp !== ""));
          // With esp.enable_authentication_check tshark verifies the ICV (HMAC, or the GCM tag).
          const icvOk = (p.good === "1" || p.good === "True") && (p.bad === "0" || p.bad === "False");
          // tsipsec always sends ESP in UDP (docs/config.md `encap`), so the outer protocol is UDP.
          return p.proto[0] !== "17" || !innerOk || !icvOk;
        });
        expect(bad.map((p) => p.frame), "ESP frames not in UDP, whose inner packet does not decode, or whose ICV does not check").toEqual([]);
        const requests = packets.filter((p) => p.proto[1] === "1" && p.icmp === "8").length;
        const replies = packets.filter((p) => p.proto[1] === "1" && p.icmp === "0").length;
        const tcp = packets.filter((p) => p.proto[1] === "6").length;
        expect(requests, "decrypted echo requests").toBeGreaterThanOrEqual(6);
        expect(replies, "decrypted echo replies").toBeGreaterThanOrEqual(6);
        expect(tcp, "decrypted TCP segments").toBeGreaterThanOrEqual(8);
        // Traffic on the first and on the last Child SA, in both directions.
        const spis = new Set(packets.map((p) => p.spi));
        for (const spi of [g0.child.spiIn, g0.child.spiOut, g3.child.spiIn, g3.child.spiOut]) expect(spis, `ESP traffic on SPI 0x${spi}`).toContain(`0x${spi}`);
        console.log(
          `[wireshark-tsipsec ${row.ike} / ${row.esp}] IKE: ${encrypted.length} encrypted messages decrypted (IKE_AUTH ${auth.length}, CREATE_CHILD_SA ${ccsa.length}: IKE rekey ${ikeRekey.length} + Child rekey ${childRekeys.length}, INFORMATIONAL ${info.length}); ` +
            `ESP: ${packets.length} packets decrypted (echo request ${requests}, reply ${replies}, TCP ${tcp}) over ${spis.size} SPIs; rows: ikev2 ${ikev2.length}, esp ${esp.length}`,
        );
      } catch (e) {
        console.error([...diagnostics, gwA?.logTail(80) ?? "", gwB?.logTail(80) ?? ""].join("\n"));
        throw e;
      } finally {
        try {
          await capture?.stop();
        } finally {
          try {
            await gwA?.dispose();
          } finally {
            await gwB?.dispose();
          }
        }
      }
    });
  }
});
