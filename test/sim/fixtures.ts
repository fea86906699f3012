/**
 * Configurations for the simulated network: two site-to-site gateways (testbed.md topology,
 * outer 192.0.2.1 <-> 192.0.2.2, protected 198.18.1.0/24 <-> 198.18.2.0/24) with PSK
 * authentication and cheap algorithms (X25519, AES-GCM) so hundreds of runs stay fast.
 */
import type { ChildConfig, ConnectionConfig, EngineConfig } from "../../src/ike/api.js";
import { Secret } from "../../src/crypto/secret.js";
import { parseProposalString } from "../../src/ike/negotiation/proposals.js";
import { parseTs } from "../../src/ike/negotiation/traffic-selectors.js";
import { IkeEngine } from "../../src/ike/engine.js";
import { seededRandom } from "../../src/crypto/random.js";
import { SimNetwork, type LinkConfig, type SimNode } from "./network.js";

export const A_ADDR = "192.0.2.1";
export const B_ADDR = "192.0.2.2";
export const A_ID = "gw-a.example";
export const B_ID = "gw-b.example";
export const PSK = "correct horse battery staple";

export interface SideOptions {
  ikeProposals?: string[];
  espProposals?: string[];
  localTs?: string[];
  remoteTs?: string[];
  mode?: "tunnel" | "transport";
  psk?: string;
  localId?: string;
  remoteId?: string;
  encap?: boolean;
  dpdDelaySeconds?: number;
  rekeyTimeSeconds?: number;
  childRekeySeconds?: number;
  childLifeSeconds?: number;
  fragmentation?: boolean;
  fragmentSize?: number;
  cookieThreshold?: number;
  retransmit?: { timeoutSeconds: number; base: number; tries: number };
  children?: ChildConfig[];
  localAddr?: string;
  remoteAddr?: string;
}

export function child(name: string, localTs: string[], remoteTs: string[], o: SideOptions = {}): ChildConfig {
  return {
    name,
    localTs: localTs.map((c) => parseTs(c)),
    remoteTs: remoteTs.map((c) => parseTs(c)),
    espProposals: (o.espProposals ?? ["aes128gcm16"]).flatMap((p) => parseProposalString(p, "esp")),
    mode: o.mode ?? "tunnel",
    startAction: "none",
    rekeyTimeSeconds: o.childRekeySeconds ?? 3000,
    lifeTimeSeconds: o.childLifeSeconds ?? 3600,
    rekeyBytes: 0,
    lifeBytes: 0,
    rekeyPackets: 0,
    lifePackets: 0,
    replayWindow: 32,
    tfcPadding: false,
  };
}

export function connection(name: string, local: { addr: string; id: string; ts: string[] }, remote: { addr: string; id: string; ts: string[] }, o: SideOptions = {}): ConnectionConfig {
  return {
    name,
    localAddrs: [o.localAddr ?? local.addr],
    remoteAddrs: [o.remoteAddr ?? remote.addr],
    localPort: 500,
    remotePort: 500,
    proposals: (o.ikeProposals ?? ["aes128gcm16-prfsha256-x25519"]).flatMap((p) => parseProposalString(p, "ike")),
    encap: o.encap ?? false,
    dpdDelaySeconds: o.dpdDelaySeconds ?? 0,
    rekeyTimeSeconds: o.rekeyTimeSeconds ?? 0,
    fragmentation: o.fragmentation ?? true,
    fragmentSize: o.fragmentSize ?? 1280,
    local: { auth: "psk", id: o.localId ?? local.id },
    remote: { auth: "psk", id: o.remoteId ?? remote.id },
    children: o.children ?? [child("net", o.localTs ?? local.ts, o.remoteTs ?? remote.ts, o)],
    retransmit: o.retransmit ?? { timeoutSeconds: 4, base: 1.8, tries: 5 },
  };
}

export function engineConfig(conns: ConnectionConfig[], o: SideOptions = {}): EngineConfig {
  return {
    connections: conns,
    secrets: [{ ids: [...new Set(conns.flatMap((c) => [c.local.id, c.remote.id]).filter((id) => id !== "%any"))], secret: Secret.fromUtf8(o.psk ?? PSK) }],
    cookieThreshold: o.cookieThreshold ?? 10,
    halfOpenTimeoutSeconds: 30,
  };
}

/** Gateway A's and B's configs for connection "site" (each side's options apply to itself). */
export function sitePair(a: SideOptions = {}, b: SideOptions = {}): { a: EngineConfig; b: EngineConfig } {
  const aConn = connection("site", { addr: A_ADDR, id: A_ID, ts: ["198.18.1.0/24"] }, { addr: B_ADDR, id: B_ID, ts: ["198.18.2.0/24"] }, a);
  const bConn = connection("site", { addr: B_ADDR, id: B_ID, ts: ["198.18.2.0/24"] }, { addr: A_ADDR, id: A_ID, ts: ["198.18.1.0/24"] }, b);
  return { a: engineConfig([aConn], a), b: engineConfig([bConn], b) };
}

export interface Pair {
  net: SimNetwork;
  a: SimNode;
  b: SimNode;
  engA: IkeEngine;
  engB: IkeEngine;
}

/** Two engines on a simulated link. */
export function makePair(seed: number | string, a: SideOptions = {}, b: SideOptions = {}, link?: LinkConfig, natA?: string): Pair {
  const cfg = sitePair(a, b);
  const net = new SimNetwork(seed, link);
  const engA = new IkeEngine(cfg.a, seededRandom(`a-${seed}`), net.now);
  const engB = new IkeEngine(cfg.b, seededRandom(`b-${seed}`), net.now);
  const nodeA = net.addNode("A", A_ADDR, engA, natA);
  const nodeB = net.addNode("B", B_ADDR, engB);
  return { net, a: nodeA, b: nodeB, engA, engB };
}

/** The Child SAs both sides have installed, paired by SPI (A's inbound = B's outbound). */
export function pairedChildren(a: SimNode, b: SimNode): Array<[import("../../src/ike/api.js").ChildSaSpec, import("../../src/ike/api.js").ChildSaSpec]> {
  const out: Array<[import("../../src/ike/api.js").ChildSaSpec, import("../../src/ike/api.js").ChildSaSpec]> = [];
  for (const x of a.installed.values()) {
    const y = [...b.installed.values()].find((s) => s.spiOut === x.spiIn && s.spiIn === x.spiOut);
    if (y) out.push([x, y]);
  }
  return out;
}

export function errorsOf(n: SimNode): string[] {
  return n.events.filter((e) => e.level === "error").map((e) => e.message);
}
