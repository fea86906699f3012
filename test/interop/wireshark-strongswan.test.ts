/**
 * Wireshark (tshark 4.0) as an independent judge of a tsipsec <-> strongSwan session with rekeys:
 * tsipsec (gw-a, `daemon.save_keys`) initiates to strongSwan (gw-b, keys logged with `ike = 4`),
 * tcpdump captures gw-a's outer link while both sides rekey the Child SA (RFC 7296 s1.3.3) and the
 * IKE SA (s1.3.2), and tshark decrypts, with tsipsec's exported rows (src/drivers/key-export.ts),
 * every IKE_AUTH, CREATE_CHILD_SA and INFORMATIONAL message and every ESP-in-UDP packet (RFC 3948)
 * down to the inner ICMP/TCP. The IKE rows of the rekeyed IKE SAs (SKEYSEED from SK_d of the old
 * SA, s2.18) must equal the keys strongSwan logged for them.
 *
 * wireshark.test.ts and the `wireshark/tsipsec-save-keys/*` cases cover the session without rekeys.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSiteToSite, SITE_TO_SITE_ADDRESSES, uniqueSuffix, type Topology } from "../../src/drivers/netns.js";
import type { ChildSaStatus, IkeSaStatus } from "../../src/control/protocol.js";
import { toHex } from "../../src/wire/hex.js";
import { ensureStrongSwanInstalled, waitFor } from "../support/strongswan.js";
import { withPair } from "./harness/cases.js";
import { siteConnection } from "./harness/matrix.js";
import { pingAfterWarmup, tcpTransfer } from "./harness/traffic.js";
import { charonKeyDumps, startCapture, tsharkFields, uatRows, type Capture } from "./harness/wireshark.js";

const S = SITE_TO_SITE_ADDRESSES;

/** IKEv2 payload types (RFC 7296 s3.2) as tshark prints isakmp.typepayload. */
const PT = { SA: "33", KE: "34", IDi: "35", IDr: "36", AUTH: "39", NONCE: "40", NOTIFY: "41", TSi: "44", TSr: "45", SK: "46" } as const;
/** Exchange types (RFC 7296 s3.1). */
const EXCH = { IKE_SA_INIT: "34", IKE_AUTH: "35", CREATE_CHILD_SA: "36", INFORMATIONAL: "37" } as const;

interface Generation {
  /** tsipsec's view (spiIn: the SPI strongSwan sends to). */
  ike: IkeSaStatus;
  child: ChildSaStatus;
}

function values(field: string | undefined): string[] {
  return field === undefined || field === "" ? [] : field.split(",");
}

describe("Wireshark decrypts the CREATE_CHILD_SA exchanges of a tsipsec <-> strongSwan session with tsipsec's exported keys (RFC 7296 s1.3, s2.18; RFC 3948)", () => {
  let topology: Topology | undefined;
  let dir = "";

  beforeAll(async () => {
    await ensureStrongSwanInstalled();
    topology = await createSiteToSite({ suffix: uniqueSuffix("wss") });
    dir = mkdtempSync(join(tmpdir(), "tsipsec-wireshark-ss-"));
  }, 600_000);

  afterAll(async () => {
    try {
      await topology?.destroy();
    } finally {
      if (dir !== "") rmSync(dir, { recursive: true, force: true });
    }
  });

  it("IKE aes128-sha256-modp2048 / ESP aes128gcm16, tsipsec initiates; Child and IKE SA rekeys from both sides: every encrypted message and ESP packet decrypts, rekeyed IKE rows equal strongSwan's keys", { timeout: 120_000 }, async () => {
    const topo = topology!;
    const diagnostics: string[] = [];
    let capture: Capture | undefined;
    try {
      await withPair({ topology: topo }, "wireshark/strongswan-rekeys", { a: siteConnection("a"), b: siteConnection("b"), ts: { saveKeys: true }, ss: { logKeys: true } }, async (p) => {
        /** Both sides list one IKE SA with one Child SA, the same SPIs (Child SPIs crossed), accepted by `changed`. */
        const waitAgreed = (what: string, changed: (g: Generation) => boolean): Promise<Generation> =>
          waitFor(
            what,
            async () => {
              const ts = await p.ts.listSas();
              const ss = (await p.ss.listSas()).filter((s) => s.state === "ESTABLISHED");
              const [t] = ts;
              const [s] = ss;
              if (ts.length !== 1 || ss.length !== 1 || t === undefined || s === undefined || t.state !== "ESTABLISHED") return undefined;
              const [tc] = t.children;
              const installed = s.children.filter((c) => c.state === "INSTALLED");
              const [sc] = installed;
              if (t.children.length !== 1 || tc === undefined || tc.state !== "INSTALLED" || installed.length !== 1 || sc === undefined) return undefined;
              if (t.spiI !== s.initiatorSpi || t.spiR !== s.responderSpi || tc.spiIn !== sc.spiOut || tc.spiOut !== sc.spiIn) return undefined;
              const g = { ike: t, child: tc };
              return changed(g) ? g : undefined;
            },
            { timeoutMs: 20_000, intervalMs: 100 },
          );
        const traffic = async (port: number): Promise<void> => {
          const ping = await pingAfterWarmup(topo, topo.ns.hostA, S.hostB.v4, 3);
          expect(ping.received, ping.output).toBe(3);
          const tcp = await tcpTransfer(topo, { serverNs: topo.ns.hostB, serverAddress: S.hostB.v4, clientNs: topo.ns.hostA, port, size: 16 * 1024 });
          expect(tcp.ok, tcp.detail).toBe(true);
        };
        const ikeSpis = (g: Generation): string => `${g.ike.spiI},${g.ike.spiR}`;

        capture = await startCapture(topo, topo.ns.gwA, "wan0", join(dir, "outer.pcap"), "udp or esp");
        await p.ts.up("s2s");
        const g0 = await waitAgreed("the first IKE SA and Child SA on both sides", () => true);
        await traffic(5311);

        // Child SA rekey initiated by tsipsec, then an IKE SA rekey initiated by strongSwan.
        const r1 = await p.ts.cli(["rekey", "s2s/net"]);
        expect(r1.code, `tsipsec rekey s2s/net: ${r1.stdout}${r1.stderr}`).toBe(0);
        const g1 = await waitAgreed("the Child SA rekeyed by tsipsec", (g) => g.child.spiIn !== g0.child.spiIn);
        const r2 = await p.ss.rekey({ ike: "s2s" });
        expect(r2.ok, `swanctl --rekey --ike s2s: ${r2.output}`).toBe(true);
        const g2 = await waitAgreed("the IKE SA rekeyed by strongSwan", (g) => ikeSpis(g) !== ikeSpis(g1));
        // An IKE SA rekey initiated by tsipsec, then a Child SA rekey by strongSwan on that IKE SA.
        const r3 = await p.ts.cli(["rekey", "s2s", "--ike"]);
        expect(r3.code, `tsipsec rekey s2s --ike: ${r3.stdout}${r3.stderr}`).toBe(0);
        const g3 = await waitAgreed("the IKE SA rekeyed by tsipsec", (g) => ikeSpis(g) !== ikeSpis(g2) && ikeSpis(g) !== ikeSpis(g0));
        const r4 = await p.ss.rekey({ child: "net" });
        expect(r4.ok, `swanctl --rekey --child net: ${r4.output}`).toBe(true);
        const g4 = await waitAgreed("the Child SA rekeyed by strongSwan", (g) => g.child.spiIn !== g3.child.spiIn && g.child.spiIn !== g2.child.spiIn);
        expect(ikeSpis(g4)).toBe(ikeSpis(g3));
        await traffic(5312);

        await p.ts.down("s2s");
        await waitFor("both sides to forget the SAs", async () => (await p.ts.listSas()).length === 0 && (await p.ss.listSas()).length === 0, { timeoutMs: 15_000 });
        await capture.stop();

        // --- tsipsec's rows: one per IKE SA, equal to the keys strongSwan derived (RFC 7296 s2.14, s2.18). ---
        const tables = p.ts.keyTables();
        diagnostics.push(`tsipsec ikev2_decryption_table:\n${tables.ikev2}\ntsipsec esp_sa:\n${tables.esp}`);
        const ikev2 = uatRows(tables.ikev2);
        const esp = uatRows(tables.esp);
        const generations = [ikeSpis(g0), ikeSpis(g2), ikeSpis(g3)];
        expect(ikev2.map((r) => r.split(",").slice(0, 2).join(",")), "one row per IKE SA, in order").toEqual(generations);
        const log = p.ss.log();
        // Row fields: SPIi, SPIr, SK_ei, SK_er, "encr", SK_ai, SK_ar, "integ".
        for (const [column, label] of [[2, "Sk_ei secret"], [3, "Sk_er secret"], [5, "Sk_ai secret"], [6, "Sk_ar secret"]] as const) {
          const logged = charonKeyDumps(log, label).map(toHex);
          expect(ikev2.map((r) => r.split(",")[column]), `${label}: tsipsec's rows vs strongSwan's log, per IKE SA`).toEqual(logged);
        }
        for (const g of [g0, g1, g2, g3, g4]) {
          for (const [src, dst, spi] of [[S.gwBWan.v4, S.gwAWan.v4, g.child.spiIn], [S.gwAWan.v4, S.gwBWan.v4, g.child.spiOut]] as const) {
            expect(esp.some((r) => r.startsWith(`"IPv4","${src}","${dst}","0x${spi}","AES-GCM with 16 octet ICV [RFC4106]",`)), `esp_sa row for SPI 0x${spi}`).toBe(true);
          }
        }
        const keys = { ikev2, esp };

        // --- IKE: every message with an SK payload decrypts, with the payloads of its exchange. ---
        const ike = await tsharkFields(capture.file, keys, "isakmp", ["frame.number", "isakmp.exchangetype", "isakmp.ispi", "isakmp.rspi", "isakmp.flag_r", "isakmp.typepayload", "isakmp.enc.decrypted"]);
        diagnostics.push(`tshark IKE:\n${ike.result.stdout}${ike.result.stderr}`);
        expect(ike.result.code, ike.result.stderr).toBe(0);
        const msgs = ike.lines
          .map((l) => {
            const [frame, exch, ispi, rspi, response, types, decrypted] = l.split("\t");
            return { frame: Number(frame), exch: exch ?? "", spi: `${ispi ?? ""},${rspi ?? ""}`, response: response === "1" || response === "True", types: values(types), decrypted: (decrypted ?? "") !== "" };
          })
          .filter((m) => m.exch !== EXCH.IKE_SA_INIT);
        expect(msgs.filter((m) => !m.decrypted).map((m) => m.frame), "frames with an SK payload tshark did not decrypt").toEqual([]);
        for (const m of msgs) expect(m.types, `frame ${m.frame}`).toContain(PT.SK);
        const icd = await tsharkFields(capture.file, keys, "isakmp.ikev2.integrity_checksum", ["frame.number"]);
        diagnostics.push(`tshark IKE integrity:\n${icd.result.stdout}${icd.result.stderr}`);
        expect(icd.lines, "frames whose integrity checksum tshark rejects").toEqual([]);

        const auth = msgs.filter((m) => m.exch === EXCH.IKE_AUTH);
        expect(auth.length, "IKE_AUTH request and response").toBe(2);
        for (const m of auth) {
          const want = [m.response ? PT.IDr : PT.IDi, PT.AUTH, PT.SA, PT.TSi, PT.TSr];
          expect(want.filter((t) => !m.types.includes(t)), `frame ${m.frame} IKE_AUTH payloads ${m.types.join(",")}`).toEqual([]);
        }
        const ccsa = msgs.filter((m) => m.exch === EXCH.CREATE_CHILD_SA);
        for (const m of ccsa) expect([PT.SA, PT.NONCE].filter((t) => !m.types.includes(t)), `frame ${m.frame} CREATE_CHILD_SA payloads ${m.types.join(",")}`).toEqual([]);
        const ikeRekeys = ccsa.filter((m) => m.types.includes(PT.KE) && !m.types.includes(PT.TSi));
        expect(ikeRekeys.map((m) => [m.spi, m.response]), "IKE SA rekeys: request and response on the SA being rekeyed").toEqual([
          [generations[0], false],
          [generations[0], true],
          [generations[1], false],
          [generations[1], true],
        ]);
        const childRekeys = ccsa.filter((m) => m.types.includes(PT.TSi) && m.types.includes(PT.TSr));
        expect(childRekeys.filter((m) => m.spi === generations[0]).length, "Child SA rekey by tsipsec on the first IKE SA").toBeGreaterThanOrEqual(2);
        expect(childRekeys.filter((m) => m.spi === generations[2]).length, "Child SA rekey by strongSwan on the third IKE SA").toBeGreaterThanOrEqual(2);
        expect(childRekeys.filter((m) => !m.response).every((m) => m.types.includes(PT.NOTIFY)), "N(REKEY_SA) in every Child SA rekey request").toBe(true);
        expect(ccsa.length, "every CREATE_CHILD_SA message is an IKE or a Child SA rekey").toBe(ikeRekeys.length + childRekeys.length);
        const info = msgs.filter((m) => m.exch === EXCH.INFORMATIONAL);

        // --- ESP in UDP: every packet decrypts (ICV checked) to the inner ICMP or TCP between the hosts. ---
        const espOut = await tsharkFields(capture.file, keys, "esp", ["frame.number", "esp.spi", "ip.src", "ip.dst", "ip.proto", "icmp.type", "tcp.len", "esp.icv_good"], ["esp.enable_authentication_check:TRUE"]);
        diagnostics.push(`tshark ESP:\n${espOut.result.stdout}${espOut.result.stderr}`);
        expect(espOut.result.code, espOut.result.stderr).toBe(0);
        const hosts = new Set<string>([S.hostA.v4, S.hostB.v4]);
        const packets = espOut.lines.map((l) => {
          const [frame, spi, src, dst, proto, icmp, tcpLen, good] = l.split("\t");
          return { frame, spi: spi ?? "", src: values(src), dst: values(dst), proto: values(proto), icmp: icmp ?? "", tcp: tcpLen ?? "", good: good === "1" || good === "True" };
        });
        const bad = packets.filter((x) => {
          const inner = x.proto[1];
          const innerOk = hosts.has(x.src[1] ?? "") && hosts.has(x.dst[1] ?? "") && ((inner === "1" && x.icmp !== "") || (inner === "6" && x.tcp !== ""));
          return x.proto[0] !== "17" || !innerOk || !x.good;
        });
        expect(bad.map((x) => x.frame), "ESP frames not in UDP, not decoding to the inner packet, or failing the ICV").toEqual([]);
        const requests = packets.filter((x) => x.proto[1] === "1" && x.icmp === "8").length;
        const replies = packets.filter((x) => x.proto[1] === "1" && x.icmp === "0").length;
        const tcp = packets.filter((x) => x.proto[1] === "6").length;
        expect(requests).toBeGreaterThanOrEqual(6);
        expect(replies).toBeGreaterThanOrEqual(6);
        expect(tcp).toBeGreaterThanOrEqual(8);
        const spis = new Set(packets.map((x) => x.spi));
        for (const spi of [g0.child.spiIn, g0.child.spiOut, g4.child.spiIn, g4.child.spiOut]) expect(spis, `ESP traffic on SPI 0x${spi}`).toContain(`0x${spi}`);
        console.log(
          `[wireshark-strongswan] IKE: ${msgs.length} encrypted messages decrypted (IKE_AUTH ${auth.length}, CREATE_CHILD_SA ${ccsa.length}: IKE rekey ${ikeRekeys.length} + Child rekey ${childRekeys.length}, INFORMATIONAL ${info.length}) over ${generations.length} IKE SAs; ` +
            `ESP: ${packets.length} packets decrypted (echo request ${requests}, reply ${replies}, TCP ${tcp}) over ${spis.size} SPIs; rows: ikev2 ${ikev2.length}, esp ${esp.length}`,
        );
      });
    } catch (e) {
      console.error(diagnostics.join("\n"));
      throw e;
    } finally {
      await capture?.stop();
    }
  });
});
