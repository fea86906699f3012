import { randomBytes } from "node:crypto";
import { SITE_TO_SITE_ADDRESSES as A } from "../drivers/netns.js";

/**
 * Config files (YAML, swanctl.conf-shaped) for two tsipsec gateways on the four-namespace
 * topology (src/drivers/netns.ts): gw-a (192.0.2.1, protects 198.18.1.0/24) and gw-b (192.0.2.2,
 * protects 198.18.2.0/24), PSK authentication. Used by `tsipsec demo` and the namespace tests.
 */
export interface SitePairOptions {
  /** Control socket paths of gw-a and gw-b. */
  controlA: string;
  controlB: string;
  /** start_action of each side's child (default: gw-a start, gw-b none). */
  startA?: "none" | "start" | "trap";
  startB?: "none" | "start" | "trap";
  mode?: "tunnel" | "transport";
  /** Also protect the IPv6 subnets (2001:db8:1::/64 <-> 2001:db8:2::/64) in the same child. */
  ipv6Inner?: boolean;
  /** Outer addresses IPv6 (2001:db8:ff::1/2) instead of IPv4. */
  ipv6Outer?: boolean;
  /** IKE proposal (default aes128gcm16-prfsha256-x25519) and ESP proposal (default aes128gcm16). */
  ikeProposal?: string;
  espProposal?: string;
  /** Seconds; 0 = off. */
  dpdDelay?: number;
  childRekeyTime?: number;
  ikeRekeyTime?: number;
  logLevel?: string;
  /** Pre-shared key; default 32 random bytes in hex. */
  psk?: string;
  /** Retransmission tries (default 5: strongSwan's). */
  retransmitTries?: number;
  retransmitTimeout?: number;
  /** Directory for Wireshark ESP key tables (`esp_sa-a`, `esp_sa-b`); absent: no key export. */
  saveKeysDir?: string;
}

export interface SitePairConfigs {
  a: string;
  b: string;
  psk: string;
}

/** Builds both gateways' config texts. */
export function sitePairConfigs(o: SitePairOptions): SitePairConfigs {
  const psk = o.psk ?? randomBytes(32).toString("hex");
  const mode = o.mode ?? "tunnel";
  const outerA = o.ipv6Outer === true ? A.gwAWan.v6 : A.gwAWan.v4;
  const outerB = o.ipv6Outer === true ? A.gwBWan.v6 : A.gwBWan.v4;
  const side = (me: "a" | "b"): string => {
    const local = me === "a" ? outerA : outerB;
    const remote = me === "a" ? outerB : outerA;
    let localTs: string[];
    let remoteTs: string[];
    if (mode === "transport") {
      localTs = [local];
      remoteTs = [remote];
    } else {
      const mine = me === "a" ? A.siteA : A.siteB;
      const theirs = me === "a" ? A.siteB : A.siteA;
      localTs = [mine.v4, ...(o.ipv6Inner === true ? [mine.v6] : [])];
      remoteTs = [theirs.v4, ...(o.ipv6Inner === true ? [theirs.v6] : [])];
    }
    const start = me === "a" ? (o.startA ?? "start") : (o.startB ?? "none");
    const control = me === "a" ? o.controlA : o.controlB;
    const lines = [
      "# tsipsec gateway config (generated)",
      "daemon:",
      "  tun:",
      "    name: tsipsec0",
      "    mtu: 1400",
      `  control_socket: ${control}`,
      `  log_level: ${o.logLevel ?? "info"}`,
      ...(o.retransmitTries !== undefined ? [`  retransmit_tries: ${o.retransmitTries}`] : []),
      ...(o.retransmitTimeout !== undefined ? [`  retransmit_timeout: ${o.retransmitTimeout}`] : []),
      ...(o.saveKeysDir !== undefined ? ["  save_keys:", `    esp: ${JSON.stringify(`${o.saveKeysDir}/esp_sa-${me}`)}`] : []),
      "connections:",
      "  site:",
      "    version: 2",
      `    local_addrs: ${JSON.stringify(local)}`,
      `    remote_addrs: ${JSON.stringify(remote)}`,
      `    proposals: ${o.ikeProposal ?? "aes128gcm16-prfsha256-x25519"}`,
      `    dpd_delay: ${o.dpdDelay ?? 0}s`,
      ...(o.ikeRekeyTime !== undefined ? [`    rekey_time: ${o.ikeRekeyTime}s`] : []),
      "    local:",
      "      auth: psk",
      `      id: gw-${me}.example`,
      "    remote:",
      "      auth: psk",
      `      id: gw-${me === "a" ? "b" : "a"}.example`,
      "    children:",
      "      net:",
      `        local_ts: ${JSON.stringify(localTs.join(","))}`,
      `        remote_ts: ${JSON.stringify(remoteTs.join(","))}`,
      `        esp_proposals: ${o.espProposal ?? "aes128gcm16"}`,
      `        mode: ${mode}`,
      `        start_action: ${start}`,
      // Short test lifetimes: the hard limit (life_time) well after the rekey, so a rekey that
      // needs a retransmission still completes before the SA expires.
      ...(o.childRekeyTime !== undefined ? [`        rekey_time: ${o.childRekeyTime}s`, `        life_time: ${o.childRekeyTime * 3}s`] : []),
      "secrets:",
      "  ike-site:",
      "    id-a: gw-a.example",
      "    id-b: gw-b.example",
      `    secret: ${JSON.stringify(psk)}`,
      "",
    ];
    return lines.join("\n");
  };
  return { a: side("a"), b: side("b"), psk };
}
