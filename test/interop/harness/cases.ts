/**
 * The tsipsec <-> strongSwan interop matrix as data: every case has a stable id and a body that
 * runs against one shared four-namespace topology. tsipsec is always gw-a (192.0.2.1, protecting
 * 198.18.1.0/24), strongSwan gw-b (192.0.2.2, 198.18.2.0/24). Each case starts a fresh charon and
 * a fresh tsipsec daemon and stops both in `finally`, so cases never see each other's SAs.
 *
 * test/interop/tsipsec-strongswan.test.ts runs the cases that pass; pending-matrix.pending.ts runs
 * the ones listed in pending.ts (failing because of a tsipsec bug or missing feature), outside
 * CI's default include.
 */
import { cpSync, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { SITE_TO_SITE_ADDRESSES, type Topology } from "../../../src/drivers/netns.js";
import type { ChildSaStatus, IkeSaStatus } from "../../../src/control/protocol.js";
import { StrongSwan, waitFor, type SwanChildSa, type SwanConnection, type SwanIkeSa } from "../../support/strongswan.js";
import {
  ALGORITHM_ROWS,
  ESN_ROW,
  IDENTITY_ROWS,
  LIBIPSEC_NO_ESN,
  normalizeEncrName,
  siteConnection,
  swanChildAlgorithms,
  swanIkeAlgorithms,
  WIDE_TS,
  type AlgorithmRow,
  type SiteOptions,
} from "./matrix.js";
import { ping as pingOnce, pingAfterWarmup, tcpTransfer } from "./traffic.js";
import { charonKeyDump, startCapture, tsharkFields } from "./wireshark.js";
import { formatEspSaRow, formatIkev2DecryptionRow } from "../../../src/drivers/key-export.js";
import { getEncr } from "../../../src/crypto/encr.js";
import { getInteg } from "../../../src/crypto/integ.js";
import { Secret } from "../../../src/crypto/secret.js";
import { EncrId, IntegId } from "../../../src/wire/ike/constants.js";
import { TsipsecGateway, type TsipsecGatewayOptions } from "./tsipsec.js";

const S = SITE_TO_SITE_ADDRESSES;

export interface InteropContext {
  topology: Topology;
}

export interface InteropCase {
  /** Stable id used by pending.ts, e.g. `alg/aes128-sha256-modp2048/aes128gcm16/tsipsec-initiator`. */
  id: string;
  /** The test title. */
  title: string;
  /** Upper bound for vitest, milliseconds. */
  timeoutMs: number;
  run(ctx: InteropContext): Promise<void>;
}

export type Role = "tsipsec-initiator" | "tsipsec-responder";
const ROLES: readonly Role[] = ["tsipsec-initiator", "tsipsec-responder"];

interface Pair {
  ts: TsipsecGateway;
  ss: StrongSwan;
}

interface PairSetup {
  /** tsipsec's connection (gw-a) and strongSwan's (gw-b). */
  a: SwanConnection;
  b: SwanConnection;
  ts?: Partial<TsipsecGatewayOptions>;
  ss?: { retransmitTimeout?: number; retransmitTries?: number; logKeys?: boolean };
}

/**
 * Starts strongSwan on gw-b and tsipsec on gw-a, runs `body`, and stops both in finally. On
 * failure prints both logs' tails (and copies the whole logs to $TSIPSEC_INTEROP_LOG_DIR/<case>
 * when that is set).
 */
export async function withPair(ctx: InteropContext, caseId: string, setup: PairSetup, body: (p: Pair) => Promise<void>): Promise<void> {
  const topo = ctx.topology;
  let ss: StrongSwan | undefined;
  let ts: TsipsecGateway | undefined;
  try {
    ss = await StrongSwan.start({ namespace: topo.ns.gwB, spawnIn: topo.spawnIn, label: "gw-b", ...setup.ss });
    await ss.load([setup.b]);
    ts = await TsipsecGateway.start({ topology: topo, namespace: topo.ns.gwA, label: "gw-a", ...setup.ts }, [setup.a]);
    await body({ ts, ss });
    if (process.env["TSIPSEC_INTEROP_KEEP_ALL"] === "1") keepLogs(caseId, ts, ss, undefined);
  } catch (e) {
    const logs = [ts?.logTail(80), ss?.logTail(80)].filter((x) => x !== undefined).join("\n");
    console.error(`[${caseId}] failed: ${e instanceof Error ? e.message : String(e)}\n${logs}`);
    keepLogs(caseId, ts, ss, e);
    throw e;
  } finally {
    try {
      await ts?.dispose();
    } finally {
      await ss?.dispose();
    }
  }
}

/**
 * Copies both logs (and the error) to $TSIPSEC_INTEROP_LOG_DIR/<case> when that is set: for the
 * failure report (and, with TSIPSEC_INTEROP_KEEP_ALL=1, for passing cases too).
 */
function keepLogs(caseId: string, ts: TsipsecGateway | undefined, ss: StrongSwan | undefined, error: unknown): void {
  const keep = process.env["TSIPSEC_INTEROP_LOG_DIR"];
  if (keep === undefined || keep === "") return;
  const dir = join(keep, caseId.replace(/[^a-zA-Z0-9._-]+/g, "_"));
  mkdirSync(dir, { recursive: true });
  if (ts !== undefined) writeFileSync(join(dir, "tsipsec.log"), ts.log());
  if (ss !== undefined && existsSync(ss.logPath)) cpSync(ss.logPath, join(dir, "charon.log"), { force: true });
  if (error !== undefined) writeFileSync(join(dir, "error.txt"), error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error));
}

/** Brings the tunnel up from the side `role` names. */
async function establish(p: Pair, role: Role): Promise<void> {
  if (role === "tsipsec-initiator") {
    await p.ts.up("s2s");
  } else {
    const r = await p.ss.initiate("net");
    expect(r.ok, `strongSwan initiate failed:\n${r.output}`).toBe(true);
  }
}

interface Established {
  ts: IkeSaStatus;
  tsChild: ChildSaStatus;
  ss: SwanIkeSa;
  ssChild: SwanChildSa;
}

/** Waits until both sides show exactly one ESTABLISHED IKE SA with one INSTALLED Child SA. */
async function waitEstablished(p: Pair, timeoutMs = 20_000): Promise<Established> {
  return waitFor(
    "one ESTABLISHED IKE SA with one INSTALLED Child SA on both sides",
    async () => {
      const tsSas = (await p.ts.listSas()).filter((s) => s.state === "ESTABLISHED");
      const ssSas = (await p.ss.listSas()).filter((s) => s.state === "ESTABLISHED");
      const [ts] = tsSas;
      const [ss] = ssSas;
      if (tsSas.length !== 1 || ssSas.length !== 1 || ts === undefined || ss === undefined) return undefined;
      const tsChildren = ts.children.filter((c) => c.state === "INSTALLED");
      const ssChildren = ss.children.filter((c) => c.state === "INSTALLED");
      const [tsChild] = tsChildren;
      const [ssChild] = ssChildren;
      if (tsChildren.length !== 1 || ssChildren.length !== 1 || tsChild === undefined || ssChild === undefined) return undefined;
      return { ts, tsChild, ss, ssChild };
    },
    { timeoutMs },
  );
}

/** Both listings describe the same SAs: IKE SPIs equal, Child SPIs crossed, algorithms as expected. */
function expectAgreement(e: Established, row: AlgorithmRow, role: Role | undefined): void {
  // RFC 7296 s3.1: both sides name the IKE SA by the same (SPIi, SPIr).
  expect([e.ts.spiI, e.ts.spiR]).toEqual([e.ss.initiatorSpi, e.ss.responderSpi]);
  if (role !== undefined) {
    expect(e.ts.initiator).toBe(role === "tsipsec-initiator");
    expect(e.ss.initiator).toBe(role === "tsipsec-responder");
  }
  const tsIke = { encr: normalizeEncrName(e.ts.encr), integ: e.ts.integ, prf: e.ts.prf, ke: e.ts.ke };
  expect(tsIke, "tsipsec IKE SA algorithms").toEqual(row.expectIke);
  expect(swanIkeAlgorithms(e.ss), "strongSwan IKE SA algorithms").toEqual(row.expectIke);
  // RFC 7296 s2.17: the SPI one side receives on is the one the other sends with.
  expect([e.tsChild.spiIn, e.tsChild.spiOut]).toEqual([e.ssChild.spiOut, e.ssChild.spiIn]);
  const child = { encr: row.expectChild.encr, integ: row.expectChild.integ, esn: row.expectChild.esn };
  expect({ encr: normalizeEncrName(e.tsChild.encr), integ: e.tsChild.integ, esn: e.tsChild.esn }, "tsipsec Child SA algorithms").toEqual(child);
  expect(swanChildAlgorithms(e.ssChild), "strongSwan Child SA algorithms").toEqual(child);
  expect([e.tsChild.mode, e.tsChild.protocol]).toEqual(["TUNNEL", "ESP"]);
  // strongSwan with kernel-libipsec always encapsulates (its NAT-D makes it look NATed, RFC 3948).
  expect(e.ssChild.encap).toBe(true);
  expect(e.tsChild.udpEncapsulation, "tsipsec must use ESP in UDP with a peer that forces encapsulation").toBe(true);
}

/** Ping host-a -> host-b, then a checksummed TCP transfer host-a -> host-b through the tunnel. */
async function expectTraffic(ctx: InteropContext, p: Pair, size = 256 * 1024, family: "v4" | "v6" = "v4"): Promise<void> {
  const topo = ctx.topology;
  const before = await childCounters(p);
  const ping = await pingAfterWarmup(topo, topo.ns.hostA, S.hostB[family], 3);
  expect(ping.received, `ping host-a -> host-b through the tunnel:\n${ping.output}`).toBe(3);
  const t = await tcpTransfer(topo, { serverNs: topo.ns.hostB, serverAddress: S.hostB[family], clientNs: topo.ns.hostA, size });
  expect(t.ok, `TCP transfer host-a -> host-b: ${t.detail}`).toBe(true);
  const after = await childCounters(p);
  // The bytes went through the SAs both sides list (tsipsec sends, strongSwan receives).
  expect(after.tsOut - before.tsOut, "tsipsec Child SA bytes out").toBeGreaterThanOrEqual(size);
  expect(after.ssIn - before.ssIn, "strongSwan Child SA bytes in").toBeGreaterThanOrEqual(size);
  expect(after.tsIn - before.tsIn, "tsipsec Child SA bytes in").toBeGreaterThan(0);
}

async function childCounters(p: Pair): Promise<{ tsOut: number; tsIn: number; ssIn: number }> {
  const ts = (await p.ts.listSas()).flatMap((s) => s.children).filter((c) => c.state === "INSTALLED");
  const ss = (await p.ss.listSas()).flatMap((s) => s.children).filter((c) => c.state === "INSTALLED");
  return {
    tsOut: ts.reduce((n, c) => n + c.bytesOut, 0),
    tsIn: ts.reduce((n, c) => n + c.bytesIn, 0),
    ssIn: ss.reduce((n, c) => n + c.bytesIn, 0),
  };
}

/** Deletes from one side (INFORMATIONAL { D }) and waits until neither side lists an SA. */
async function tearDown(p: Pair, from: "tsipsec" | "strongswan"): Promise<void> {
  if (from === "tsipsec") {
    await p.ts.down("s2s");
  } else {
    const r = await p.ss.terminate({ ike: "s2s" });
    expect(r.ok, r.output).toBe(true);
  }
  await waitFor("both sides to forget the SAs", async () => (await p.ts.listSas()).length === 0 && (await p.ss.listSas()).length === 0, { timeoutMs: 15_000 });
}

/** The other side's role word for a row title. */
function roleTitle(role: Role): string {
  return role === "tsipsec-initiator" ? "tsipsec initiates" : "strongSwan initiates";
}

function slug(s: string): string {
  return s.replace(/\s+/g, "-");
}

// ---------------------------------------------------------------------------------------------
// The cases

function algorithmCase(row: AlgorithmRow, role: Role): InteropCase {
  const id = `alg/${slug(row.ike)}/${slug(row.esp)}/${role}`;
  return {
    id,
    title: `${row.name}, ${roleTitle(role)}: up, ping + TCP checksum, listings agree${row.expectChild.keAfterRekey !== undefined ? ", PFS rekey" : ""}, delete`,
    timeoutMs: 90_000,
    run: (ctx) =>
      withPair(ctx, id, { a: siteConnection("a", { ike: row.ike, esp: row.esp }), b: siteConnection("b", { ike: row.ike, esp: row.esp }) }, async (p) => {
        // IKE_SA_INIT { SA, KE, Ni }, IKE_AUTH { IDi, AUTH, SA, TSi, TSr } -->
        await establish(p, role);
        const e = await waitEstablished(p);
        expectAgreement(e, row, role);
        expect([e.tsChild.localTs, e.tsChild.remoteTs]).toEqual([[S.siteA.v4], [S.siteB.v4]]);
        expect([e.ssChild.localTs, e.ssChild.remoteTs]).toEqual([[S.siteB.v4], [S.siteA.v4]]);
        await expectTraffic(ctx, p);
        if (row.expectChild.keAfterRekey !== undefined) {
          // CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, KEi, TSi, TSr } --> from the IKE initiator.
          if (role === "tsipsec-initiator") await p.ts.rekey("s2s", { child: "net" });
          else expect((await p.ss.rekey({ child: "net" })).ok).toBe(true);
          const r = await waitFor("a rekeyed Child SA on both sides", async () => {
            const x = await waitEstablished(p, 2000).catch(() => undefined);
            return x !== undefined && x.tsChild.spiIn !== e.tsChild.spiIn && x.ssChild.spiIn !== e.ssChild.spiIn ? x : undefined;
          });
          expect([r.tsChild.spiIn, r.tsChild.spiOut]).toEqual([r.ssChild.spiOut, r.ssChild.spiIn]);
          expect(r.ssChild.dhGroup, "strongSwan: PFS group of the rekeyed Child SA").toBe(row.expectChild.keAfterRekey);
          expect(r.tsChild.ke, "tsipsec: PFS group of the rekeyed Child SA").toBe(row.expectChild.keAfterRekey);
          await expectTraffic(ctx, p);
        }
        await tearDown(p, role === "tsipsec-initiator" ? "tsipsec" : "strongswan");
      }),
  };
}

function esnCase(role: Role): InteropCase {
  const row = ESN_ROW;
  const id = `esn/${role}`;
  return {
    id,
    title: `${row.name}, ${roleTitle(role)}: EXT_SEQ is negotiated, strongSwan's libipsec refuses it, both keep the IKE SA without a Child SA`,
    timeoutMs: 60_000,
    run: (ctx) =>
      withPair(ctx, id, { a: siteConnection("a", { ike: row.ike, esp: row.esp }), b: siteConnection("b", { ike: row.ike, esp: row.esp }) }, async (p) => {
        if (role === "tsipsec-initiator") {
          await p.ts.up("s2s").catch(() => undefined);
        } else {
          const r = await p.ss.initiate("net");
          expect(r.ok, "strongSwan cannot install ESN SAs (testbed.md, libipsec)").toBe(false);
        }
        await waitFor("strongSwan to refuse the ESN SA", () => p.ss.grepLog(LIBIPSEC_NO_ESN).length > 0);
        expect(p.ss.grepLog(/selected proposal: ESP:AES_GCM_16_128\/EXT_SEQ/).length, "EXT_SEQ negotiated").toBeGreaterThan(0);
        // Clean failure: the IKE SA stays on both sides; no Child SA is left installed on either.
        const end = await waitFor("IKE SA up and no Child SA on both sides", async () => {
          const ts = await p.ts.listSas();
          const ss = await p.ss.listSas();
          const ok =
            ts.length === 1 && ss.length === 1 && ts[0]?.state === "ESTABLISHED" && ss[0]?.state === "ESTABLISHED" &&
            ts[0].children.every((c) => c.state !== "INSTALLED") && ss[0].children.length === 0;
          return ok ? { ts, ss } : undefined;
        });
        expect([end.ts[0]?.spiI, end.ts[0]?.spiR]).toEqual([end.ss[0]?.initiatorSpi, end.ss[0]?.responderSpi]);
        await tearDown(p, role === "tsipsec-initiator" ? "tsipsec" : "strongswan");
      }),
  };
}

function identityCase(idRow: (typeof IDENTITY_ROWS)[number], role: Role): InteropCase {
  const id = `id/${idRow.name}/${role}`;
  const base = ALGORITHM_ROWS[0] as AlgorithmRow;
  const o: SiteOptions = { ike: base.ike, esp: base.esp, idA: idRow.gwA, idB: idRow.gwB };
  return {
    id,
    title: `identities ${idRow.name} (${idRow.gwA} / ${idRow.gwB}), ${roleTitle(role)}: PSK AUTH verifies both ways (RFC 7296 s2.15, s3.5)`,
    timeoutMs: 60_000,
    run: (ctx) =>
      withPair(ctx, id, { a: siteConnection("a", o), b: siteConnection("b", o) }, async (p) => {
        await establish(p, role);
        const e = await waitEstablished(p);
        expectAgreement(e, base, role);
        expect([e.ts.local.id, e.ts.remote.id]).toEqual([idRow.gwA, idRow.gwB]);
        expect([e.ss.localId, e.ss.remoteId]).toEqual([idRow.gwB, idRow.gwA]);
        await expectTraffic(ctx, p);
        await tearDown(p, role === "tsipsec-initiator" ? "tsipsec" : "strongswan");
      }),
  };
}

function mismatchCase(role: Role): InteropCase {
  const id = `mismatch/${role}`;
  // No ENCR, INTEG, PRF or KE in common.
  const tsIke = "aes128-sha256-modp2048";
  const ssIke = "aes256-sha384-ecp384";
  return {
    id,
    title: `IKE proposal mismatch (tsipsec ${tsIke}, strongSwan ${ssIke}), ${roleTitle(role)}: NO_PROPOSAL_CHOSEN, no SA on either side, tsipsec's log names the proposals`,
    timeoutMs: 60_000,
    run: (ctx) =>
      withPair(ctx, id, { a: siteConnection("a", { ike: tsIke }), b: siteConnection("b", { ike: ssIke }) }, async (p) => {
        if (role === "tsipsec-initiator") {
          // IKE_SA_INIT { SA(aes128-sha256-modp2048), KE, Ni } -->  <-- N(NO_PROPOSAL_CHOSEN)
          await p.ts.up("s2s").catch(() => undefined);
          await waitFor("strongSwan to refuse the proposal", () => p.ss.grepLog(/received proposals unacceptable/).length > 0);
          expect(p.ss.grepLog(/generating IKE_SA_INIT response 0 \[ N\(NO_PROP\) \]/).length, "strongSwan answered N(NO_PROPOSAL_CHOSEN)").toBeGreaterThan(0);
          expect(p.ss.grepLog(/received proposals: IKE:AES_CBC_128\/HMAC_SHA2_256_128\/PRF_HMAC_SHA2_256\/MODP_2048/).length, "strongSwan saw tsipsec's proposal").toBeGreaterThan(0);
          await waitFor("tsipsec to report NO_PROPOSAL_CHOSEN", () => p.ts.grepLog(/NO_PROPOSAL_CHOSEN/).length > 0);
          expect(p.ts.log(), "tsipsec's log names its own proposal").toMatch(/MODP_2048/);
        } else {
          const r = await p.ss.initiate("net", { timeoutSeconds: 10 });
          expect(r.ok).toBe(false);
          expect(p.ss.grepLog(/NO_PROPOSAL_CHOSEN/).length, "strongSwan received NO_PROPOSAL_CHOSEN").toBeGreaterThan(0);
          // The responder's log shows both proposal sets (proposals.ts: received / configured side by side).
          await waitFor("tsipsec to log the mismatch", () => p.ts.grepLog(/NO_PROPOSAL_CHOSEN|no IKE proposal in common/).length > 0);
          const log = p.ts.log();
          expect(log, "tsipsec's log names strongSwan's proposal").toMatch(/AES_CBC_256/);
          expect(log).toMatch(/ECP_384/);
          expect(log, "tsipsec's log names its own proposal").toMatch(/AES_CBC_128/);
          expect(log).toMatch(/MODP_2048/);
        }
        await waitFor("neither side to keep an SA", async () => (await p.ts.listSas()).length === 0 && (await p.ss.listSas()).length === 0, { timeoutMs: 20_000 });
      }),
  };
}

function pskMismatchCase(role: Role): InteropCase {
  const id = `psk-mismatch/${role}`;
  return {
    id,
    title: `PSK mismatch, ${roleTitle(role)}: the responder's AUTH check fails, AUTHENTICATION_FAILED, no SA on either side (RFC 7296 s2.15, s2.21.2)`,
    timeoutMs: 60_000,
    run: (ctx) =>
      withPair(ctx, id, { a: siteConnection("a", { psk: "tsipsec-side-psk-0000000000" }), b: siteConnection("b", { psk: "strongswan-side-psk-11111111" }) }, async (p) => {
        if (role === "tsipsec-initiator") {
          // IKE_AUTH { IDi, AUTH(wrong key) } -->  <-- N(AUTHENTICATION_FAILED)
          await p.ts.up("s2s").catch(() => undefined);
          await waitFor("strongSwan to reject tsipsec's AUTH", () => p.ss.grepLog(/MAC mismatched|AUTHENTICATION_FAILED|N\(AUTH_FAILED\)/).length > 0);
          await waitFor("tsipsec to log AUTHENTICATION_FAILED", () => p.ts.grepLog(/AUTHENTICATION_FAILED/).length > 0);
        } else {
          const r = await p.ss.initiate("net", { timeoutSeconds: 10 });
          expect(r.ok).toBe(false);
          // tsipsec verified strongSwan's AUTH with its own key and refused it.
          expect(p.ss.grepLog(/received AUTHENTICATION_FAILED notify error/).length, "strongSwan received AUTHENTICATION_FAILED").toBeGreaterThan(0);
          await waitFor("tsipsec to log the failed AUTH", () => p.ts.grepLog(/AUTHENTICATION_FAILED/).length > 0);
        }
        await waitFor("neither side to keep an SA", async () => (await p.ts.listSas()).length === 0 && (await p.ss.listSas()).length === 0, { timeoutMs: 20_000 });
        // Fail-closed: nothing crosses between the sites.
        const ping = await pingOnce(ctx.topology, ctx.topology.ns.hostA, S.hostB.v4, 2);
        expect(ping.received).toBe(0);
      }),
  };
}

function espMismatchCase(role: Role): InteropCase {
  const id = `esp-mismatch/${role}`;
  const tsEsp = "aes128gcm16";
  const ssEsp = "aes256-sha256";
  return {
    id,
    title: `ESP proposal mismatch (tsipsec ${tsEsp}, strongSwan ${ssEsp}), ${roleTitle(role)}: the Child SA is refused with NO_PROPOSAL_CHOSEN, no Child SA on either side, both agree on the IKE SA (RFC 7296 s1.2, s2.21.2)`,
    timeoutMs: 60_000,
    run: (ctx) =>
      withPair(ctx, id, { a: siteConnection("a", { esp: tsEsp }), b: siteConnection("b", { esp: ssEsp }) }, async (p) => {
        if (role === "tsipsec-initiator") {
          await p.ts.up("s2s").catch(() => undefined);
          await waitFor("strongSwan to refuse the ESP proposal", () => p.ss.grepLog(/generating IKE_AUTH response 1 \[[^\]]*N\(NO_PROP\)/).length > 0);
          await waitFor("tsipsec to log NO_PROPOSAL_CHOSEN", () => p.ts.grepLog(/NO_PROPOSAL_CHOSEN/).length > 0);
        } else {
          const r = await p.ss.initiate("net", { timeoutSeconds: 10 });
          expect(r.ok).toBe(false);
          expect(p.ss.grepLog(/received NO_PROPOSAL_CHOSEN notify/).length, "strongSwan received NO_PROPOSAL_CHOSEN").toBeGreaterThan(0);
          await waitFor("tsipsec to log the ESP mismatch", () => p.ts.grepLog(/NO_PROPOSAL_CHOSEN|no ESP proposal in common/).length > 0);
          const log = p.ts.log();
          expect(log, "tsipsec's log names strongSwan's ESP proposal").toMatch(/AES_CBC_256/);
          expect(log, "tsipsec's log names its own ESP proposal").toMatch(/AES_GCM_16_128/);
        }
        // Both keep (or both drop) the IKE SA; neither has a Child SA.
        const end = await waitFor("no Child SA on either side, IKE SA state agreed", async () => {
          const ts = await p.ts.listSas();
          const ss = await p.ss.listSas();
          const noChildren = ts.every((x) => x.children.every((c) => c.state !== "INSTALLED")) && ss.every((x) => x.children.length === 0);
          const agreed = ts.length === ss.length && ts.every((x, i) => x.spiI === ss[i]?.initiatorSpi);
          return noChildren && agreed ? { ts, ss } : undefined;
        });
        expect(end.ts.length).toBeLessThanOrEqual(1);
        const ping = await pingOnce(ctx.topology, ctx.topology.ns.hostA, S.hostB.v4, 2);
        expect(ping.received).toBe(0);
        if (end.ts.length > 0) await tearDown(p, "tsipsec");
      }),
  };
}

function narrowingCase(narrower: "tsipsec" | "strongswan"): InteropCase {
  const id = `ts-narrowing/${narrower}-narrows`;
  // The initiator proposes /23s around both sites; the responder's /24s win (RFC 7296 s2.9).
  const wideA: SiteOptions = { localTs: WIDE_TS.siteA, remoteTs: WIDE_TS.siteB };
  const wideB: SiteOptions = { localTs: WIDE_TS.siteB, remoteTs: WIDE_TS.siteA };
  const role: Role = narrower === "tsipsec" ? "tsipsec-responder" : "tsipsec-initiator";
  const a = siteConnection("a", narrower === "tsipsec" ? {} : wideA);
  const b = siteConnection("b", narrower === "tsipsec" ? wideB : {});
  const base = ALGORITHM_ROWS[0] as AlgorithmRow;
  return {
    id,
    title: `TS narrowing: ${narrower === "tsipsec" ? "strongSwan" : "tsipsec"} proposes ${WIDE_TS.siteA} <-> ${WIDE_TS.siteB}, ${narrower} narrows to the /24 sites (RFC 7296 s2.9)`,
    timeoutMs: 60_000,
    run: (ctx) =>
      withPair(ctx, id, { a, b }, async (p) => {
        await establish(p, role);
        const e = await waitEstablished(p);
        expectAgreement(e, base, role);
        expect([e.tsChild.localTs, e.tsChild.remoteTs], "tsipsec's Child SA carries the narrowed selectors").toEqual([[S.siteA.v4], [S.siteB.v4]]);
        expect([e.ssChild.localTs, e.ssChild.remoteTs], "strongSwan's Child SA carries the narrowed selectors").toEqual([[S.siteB.v4], [S.siteA.v4]]);
        await expectTraffic(ctx, p);
        await tearDown(p, role === "tsipsec-initiator" ? "tsipsec" : "strongswan");
      }),
  };
}

/** Short timers: whoever has them initiates the rekey; the other side's are long. */
const SHORT = 6;
const LONG = 3600;

function childRekeyCase(by: "tsipsec" | "strongswan"): InteropCase {
  const id = `lifecycle/child-rekey-by-${by}`;
  const base = ALGORITHM_ROWS[0] as AlgorithmRow;
  const short = { childRekeyTime: SHORT };
  const long = { childRekeyTime: LONG };
  const a = siteConnection("a", by === "tsipsec" ? short : long);
  const b = siteConnection("b", by === "strongswan" ? short : long);
  return {
    id,
    title: `Child SA rekey initiated by ${by} (rekey_time ${SHORT}s): new SPIs on both sides, old Child SA deleted, traffic flows (RFC 7296 s2.8)`,
    timeoutMs: 90_000,
    run: (ctx) =>
      withPair(ctx, id, { a, b }, async (p) => {
        await establish(p, "tsipsec-initiator");
        const e = await waitEstablished(p);
        expectAgreement(e, base, "tsipsec-initiator");
        // CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, TSi, TSr } -->, then INFORMATIONAL { D(old) }
        const r = await waitFor(
          "the rekeyed Child SA on both sides (and only it)",
          async () => {
            const x = await waitEstablished(p, 1000).catch(() => undefined);
            return x !== undefined && x.tsChild.spiIn !== e.tsChild.spiIn && x.ssChild.spiIn !== e.ssChild.spiIn ? x : undefined;
          },
          { timeoutMs: 30_000 },
        );
        expect(r.ts.spiI, "the IKE SA is unchanged").toBe(e.ts.spiI);
        expect([r.tsChild.spiIn, r.tsChild.spiOut]).toEqual([r.ssChild.spiOut, r.ssChild.spiIn]);
        const rekeyRequests = by === "tsipsec" ? p.ss.grepLog(/parsed CREATE_CHILD_SA request \d+ \[.*N\(REKEY_SA\)/) : p.ss.grepLog(/generating CREATE_CHILD_SA request \d+ \[.*N\(REKEY_SA\)/);
        expect(rekeyRequests.length, `the rekey was initiated by ${by}`).toBeGreaterThan(0);
        await expectTraffic(ctx, p);
        await tearDown(p, "tsipsec");
      }),
  };
}

function ikeRekeyCase(by: "tsipsec" | "strongswan"): InteropCase {
  const id = `lifecycle/ike-rekey-by-${by}`;
  const base = ALGORITHM_ROWS[0] as AlgorithmRow;
  const a = siteConnection("a", { rekeyTime: by === "tsipsec" ? SHORT : LONG });
  const b = siteConnection("b", { rekeyTime: by === "strongswan" ? SHORT : LONG });
  return {
    id,
    title: `IKE SA rekey initiated by ${by} (rekey_time ${SHORT}s): new IKE SPIs on both sides, the Child SA moves over, traffic flows (RFC 7296 s2.18)`,
    timeoutMs: 90_000,
    run: (ctx) =>
      withPair(ctx, id, { a, b }, async (p) => {
        await establish(p, "tsipsec-initiator");
        const e = await waitEstablished(p);
        expectAgreement(e, base, "tsipsec-initiator");
        // CREATE_CHILD_SA { SA, Ni, KEi } -->, then INFORMATIONAL { D(old IKE SA) }
        const r = await waitFor(
          "the rekeyed IKE SA on both sides (and only it)",
          async () => {
            const x = await waitEstablished(p, 1000).catch(() => undefined);
            return x !== undefined && x.ts.spiI !== e.ts.spiI && x.ss.initiatorSpi !== e.ss.initiatorSpi ? x : undefined;
          },
          { timeoutMs: 30_000 },
        );
        expect([r.ts.spiI, r.ts.spiR]).toEqual([r.ss.initiatorSpi, r.ss.responderSpi]);
        expect(r.tsChild.spiIn, "the Child SA is inherited, not rekeyed").toBe(e.tsChild.spiIn);
        expect(r.ssChild.spiIn).toBe(e.ssChild.spiIn);
        // An IKE SA rekey carries SA, Ni, KEi and no traffic selectors (RFC 7296 s1.3.2).
        const rekeyRequests = p.ss.grepLog(by === "tsipsec" ? /parsed CREATE_CHILD_SA request \d+ \[ (?![^\]]*TSi)[^\]]*\bKE\b/ : /generating CREATE_CHILD_SA request \d+ \[ (?![^\]]*TSi)[^\]]*\bKE\b/);
        expect(rekeyRequests.length, `the IKE rekey was initiated by ${by}`).toBeGreaterThan(0);
        await expectTraffic(ctx, p);
        await tearDown(p, "tsipsec");
      }),
  };
}

function deleteCase(by: "tsipsec" | "strongswan"): InteropCase {
  const id = `lifecycle/delete-by-${by}`;
  const base = ALGORITHM_ROWS[0] as AlgorithmRow;
  return {
    id,
    title: `IKE SA delete initiated by ${by}: INFORMATIONAL { D } removes the IKE SA and its Child SAs on both sides (RFC 7296 s1.4.1)`,
    timeoutMs: 60_000,
    run: (ctx) =>
      withPair(ctx, id, { a: siteConnection("a"), b: siteConnection("b") }, async (p) => {
        await establish(p, by === "tsipsec" ? "tsipsec-responder" : "tsipsec-initiator");
        const e = await waitEstablished(p);
        expectAgreement(e, base, undefined);
        await expectTraffic(ctx, p);
        await tearDown(p, by);
        const dir = by === "tsipsec" ? /parsed INFORMATIONAL request \d+ \[ D \]/ : /generating INFORMATIONAL request \d+ \[ D \]/;
        expect(p.ss.grepLog(dir).length, `the delete came from ${by}`).toBeGreaterThan(0);
        // Fail-closed afterwards: the gateways have no route between the sites without the tunnel.
        const ping = await pingOnce(ctx.topology, ctx.topology.ns.hostA, S.hostB.v4, 2);
        expect(ping.received).toBe(0);
      }),
  };
}

function dpdCase(): InteropCase {
  const id = "lifecycle/dpd-strongswan-killed";
  const base = ALGORITHM_ROWS[0] as AlgorithmRow;
  return {
    id,
    title: "DPD: strongSwan is killed (SIGKILL); tsipsec's liveness checks go unanswered and it deletes the IKE and Child SAs (RFC 7296 s2.4)",
    timeoutMs: 90_000,
    run: (ctx) =>
      withPair(
        ctx,
        id,
        { a: siteConnection("a", { dpdDelay: 2 }), b: siteConnection("b"), ts: { retransmitTimeout: 1, retransmitBase: 1.4, retransmitTries: 3 } },
        async (p) => {
          await establish(p, "tsipsec-initiator");
          const e = await waitEstablished(p);
          expectAgreement(e, base, "tsipsec-initiator");
          await expectTraffic(ctx, p, 64 * 1024);
          await p.ss.stop("SIGKILL");
          // Idle 2 s, then INFORMATIONAL {} retransmitted 1 + 1.4 + 1.96 + 2.7 s: gone well within 30 s.
          await waitFor("tsipsec to declare the peer dead and delete its SAs", async () => (await p.ts.listSas()).length === 0, { timeoutMs: 30_000, intervalMs: 500 });
          // It was the liveness check (an empty INFORMATIONAL) that went unanswered, not some other exchange.
          expect(p.ts.grepLog(/INFORMATIONAL/).length, "tsipsec's log names the unanswered INFORMATIONAL").toBeGreaterThan(0);
        },
      ),
  };
}

function initialContactCase(): InteropCase {
  const id = "lifecycle/strongswan-restart-initial-contact";
  const base = ALGORITHM_ROWS[0] as AlgorithmRow;
  return {
    id,
    title: "strongSwan restarts and initiates again with N(INITIAL_CONTACT): tsipsec drops the stale IKE SA and keeps only the new one (RFC 7296 s2.4)",
    timeoutMs: 90_000,
    run: (ctx) =>
      withPair(ctx, id, { a: siteConnection("a"), b: siteConnection("b") }, async (p) => {
        await establish(p, "tsipsec-responder");
        const first = await waitEstablished(p);
        expectAgreement(first, base, "tsipsec-responder");
        await p.ss.stop("SIGKILL");
        await p.ss.launch();
        const r = await p.ss.initiate("net");
        expect(r.ok, r.output).toBe(true);
        expect(p.ss.grepLog(/generating IKE_AUTH request 1 \[ IDi N\(INIT_CONTACT\)/).length, "strongSwan sent INITIAL_CONTACT").toBeGreaterThan(0);
        const second = await waitFor("only the new IKE SA on tsipsec", async () => {
          const x = await waitEstablished(p, 1000).catch(() => undefined);
          return x !== undefined && x.ts.spiI !== first.ts.spiI ? x : undefined;
        });
        expectAgreement(second, base, "tsipsec-responder");
        expect((await p.ts.listSas()).map((s) => s.spiI), "the stale IKE SA is gone").toEqual([second.ss.initiatorSpi]);
        expect(p.ts.grepLog(/INITIAL_CONTACT/).length, "tsipsec's log says why the old IKE SA went").toBeGreaterThan(0);
        await expectTraffic(ctx, p);
        await tearDown(p, "strongswan");
      }),
  };
}

function ipv6Case(role: Role): InteropCase {
  const id = `ipv6/${role}`;
  const base = ALGORITHM_ROWS[0] as AlgorithmRow;
  const o: SiteOptions = { family: "v6" };
  return {
    id,
    title: `IPv6 outside and inside (2001:db8:ff::1 <-> ::2, 2001:db8:1::/64 <-> 2001:db8:2::/64, ID_IPV6_ADDR), ${roleTitle(role)}: ping + TCP checksum, listings agree`,
    timeoutMs: 60_000,
    run: (ctx) =>
      withPair(ctx, id, { a: siteConnection("a", o), b: siteConnection("b", o) }, async (p) => {
        await establish(p, role);
        const e = await waitEstablished(p);
        expectAgreement(e, base, role);
        expect([e.ts.local.address, e.ts.remote.address]).toEqual([S.gwAWan.v6, S.gwBWan.v6]);
        expect([e.tsChild.localTs, e.tsChild.remoteTs]).toEqual([[S.siteA.v6], [S.siteB.v6]]);
        expect([e.ssChild.localTs, e.ssChild.remoteTs]).toEqual([[S.siteB.v6], [S.siteA.v6]]);
        await expectTraffic(ctx, p, 256 * 1024, "v6");
        await tearDown(p, role === "tsipsec-initiator" ? "tsipsec" : "strongswan");
      }),
  };
}

function cliCase(): InteropCase {
  const id = "cli/up-list-sas-down";
  const base = ALGORITHM_ROWS[0] as AlgorithmRow;
  return {
    id,
    title: "the tsipsec command: `up s2s`, `list-sas --json` (same SAs as strongSwan lists), `down s2s`",
    timeoutMs: 60_000,
    run: (ctx) =>
      withPair(ctx, id, { a: siteConnection("a"), b: siteConnection("b") }, async (p) => {
        const up = await p.ts.cli(["up", "s2s"]);
        expect(up.code, `tsipsec up: ${up.stdout}${up.stderr}`).toBe(0);
        const e = await waitEstablished(p);
        expectAgreement(e, base, "tsipsec-initiator");
        const list = await p.ts.cli(["list-sas", "--json"]);
        expect(list.code, list.stderr).toBe(0);
        const listed = JSON.parse(list.stdout) as IkeSaStatus[];
        expect(listed.map((sa) => [sa.spiI, sa.spiR, sa.children.map((c) => [c.spiIn, c.spiOut])])).toEqual([[e.ss.initiatorSpi, e.ss.responderSpi, [[e.ssChild.spiOut, e.ssChild.spiIn]]]]);
        const down = await p.ts.cli(["down", "s2s"]);
        expect(down.code, `tsipsec down: ${down.stdout}${down.stderr}`).toBe(0);
        await waitFor("both sides to forget the SAs", async () => (await p.ts.listSas()).length === 0 && (await p.ss.listSas()).length === 0, { timeoutMs: 15_000 });
        const empty = await p.ts.cli(["list-sas", "--json"]);
        expect(JSON.parse(empty.stdout)).toEqual([]);
      }),
  };
}

function saveKeysCase(table: "esp_sa" | "ikev2_decryption_table"): InteropCase {
  const id = `wireshark/tsipsec-save-keys/${table}`;
  const base = ALGORITHM_ROWS[0] as AlgorithmRow;
  const what = table === "esp_sa" ? "the inner ICMP of ESP" : "IDi/IDr inside IKE_AUTH";
  return {
    id,
    title: `daemon.save_keys ${table}: tsipsec's table (0600) holds exactly the rows strongSwan's logged keys give, and tshark decrypts ${what} with it`,
    timeoutMs: 90_000,
    run: (ctx) =>
      withPair(ctx, id, { a: siteConnection("a"), b: siteConnection("b"), ts: { saveKeys: true }, ss: { logKeys: true } }, async (p) => {
        const topo = ctx.topology;
        const capture = await startCapture(topo, topo.ns.gwA, "wan0", join(p.ts.dir, "outer.pcap"));
        try {
          await establish(p, "tsipsec-initiator");
          const e = await waitEstablished(p);
          expectAgreement(e, base, "tsipsec-initiator");
          const ping = await pingAfterWarmup(topo, topo.ns.hostA, S.hostB.v4, 3);
          expect(ping.received, ping.output).toBe(3);
        } finally {
          await capture.stop();
        }
        const expected = keyRowsFromCharonLog(p.ss.log(), (await p.ss.listSas())[0]);
        const path = join(p.ts.dir, table);
        expect(existsSync(path), `tsipsec wrote ${table}`).toBe(true);
        expect(statSync(path).mode & 0o777, `${table} is private`).toBe(0o600);
        const rows = (t: string): string[] => t.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
        const tables = p.ts.keyTables();
        if (table === "esp_sa") {
          expect(new Set(rows(tables.esp))).toEqual(new Set(expected.esp));
          const icmp = await tsharkFields(capture.file, { ikev2: [], esp: rows(tables.esp) }, "esp && icmp", ["icmp.type"]);
          expect(icmp.lines.filter((l) => l === "8").length, icmp.result.stderr).toBeGreaterThanOrEqual(3);
          expect(icmp.lines.filter((l) => l === "0").length, icmp.result.stderr).toBeGreaterThanOrEqual(3);
        } else {
          expect(rows(tables.ikev2)).toEqual(expected.ikev2);
          const auth = await tsharkFields(capture.file, { ikev2: rows(tables.ikev2), esp: [] }, "isakmp.exchangetype == 35", ["isakmp.id.data.ipv4_addr"]);
          expect(auth.lines.length, auth.result.stderr).toBe(2);
          expect(auth.lines.every((l) => l.includes(S.gwAWan.v4) || l.includes(S.gwBWan.v4))).toBe(true);
        }
        await tearDown(p, "tsipsec");
      }),
  };
}

/**
 * The Wireshark rows of the first IKE SA and Child SA in charon's log (`ike = 4`, `chd = 4`) when
 * the peer (gw-a) was the IKE initiator with IKE aes128-sha256-modp2048 and ESP aes128gcm16.
 */
export function keyRowsFromCharonLog(log: string, sa: SwanIkeSa | undefined): { ikev2: string[]; esp: string[] } {
  const key = (label: string): Secret => {
    const bytes = charonKeyDump(log, label);
    if (bytes === undefined) throw new Error(`charon did not log ${label} (ike/chd log level 4?)`);
    return new Secret(bytes);
  };
  const child = sa?.children[0];
  if (sa === undefined || child === undefined) throw new Error("strongSwan has no Child SA to take keys for");
  const gcm = getEncr(EncrId.ENCR_AES_GCM_16, 128);
  return {
    ikev2: [
      formatIkev2DecryptionRow({
        spiI: BigInt(`0x${sa.initiatorSpi}`),
        spiR: BigInt(`0x${sa.responderSpi}`),
        encr: getEncr(EncrId.ENCR_AES_CBC, 128),
        integ: getInteg(IntegId.AUTH_HMAC_SHA2_256_128),
        skEi: key("Sk_ei secret"),
        skEr: key("Sk_er secret"),
        skAi: key("Sk_ai secret"),
        skAr: key("Sk_ar secret"),
      }),
    ],
    // The IKE initiator (gw-a) sends with the initiator key to strongSwan's inbound SPI.
    esp: [
      formatEspSaRow({ src: S.gwAWan.v4, dst: S.gwBWan.v4, spi: Number.parseInt(child.spiIn, 16), encr: gcm, integ: undefined, encrKey: key("encryption initiator key"), integKey: undefined }),
      formatEspSaRow({ src: S.gwBWan.v4, dst: S.gwAWan.v4, spi: Number.parseInt(child.spiOut, 16), encr: gcm, integ: undefined, encrKey: key("encryption responder key"), integKey: undefined }),
    ],
  };
}

/** Every case of the matrix, in run order. */
export const CASES: readonly InteropCase[] = [
  ...ALGORITHM_ROWS.flatMap((row) => ROLES.map((role) => algorithmCase(row, role))),
  ...ROLES.map(esnCase),
  ...IDENTITY_ROWS.filter((r) => r.name !== "ID_IPV4_ADDR").flatMap((r) => ROLES.map((role) => identityCase(r, role))),
  ...ROLES.map(mismatchCase),
  ...ROLES.map(espMismatchCase),
  ...ROLES.map(pskMismatchCase),
  narrowingCase("tsipsec"),
  narrowingCase("strongswan"),
  ...ROLES.map(ipv6Case),
  childRekeyCase("tsipsec"),
  childRekeyCase("strongswan"),
  ikeRekeyCase("tsipsec"),
  ikeRekeyCase("strongswan"),
  deleteCase("tsipsec"),
  deleteCase("strongswan"),
  dpdCase(),
  initialContactCase(),
  cliCase(),
  saveKeysCase("esp_sa"),
  saveKeysCase("ikev2_decryption_table"),
];
