/**
 * Configured connections as `list-conns` status records. The daemon answers `list-conns` with
 * `describeConnections(config, name => its IKE SA count)`; `tsipsec check` prints the same
 * records for a file without a daemon.
 */
import type { TsipsecConfig } from "../config/index.js";
import { formatTs } from "../ike/negotiation/traffic-selectors.js";
import type { ConnectionStatus } from "./protocol.js";

/** One record per connection, in file order. `ikeSaCount` gives the live IKE SAs per name (default 0). */
export function describeConnections(config: TsipsecConfig, ikeSaCount: (connection: string) => number = () => 0): ConnectionStatus[] {
  return config.engine.connections.map((c) => {
    const written = config.written[c.name];
    return {
      name: c.name,
      version: 2,
      localAddrs: [...c.localAddrs],
      remoteAddrs: [...c.remoteAddrs],
      localPort: c.localPort,
      remotePort: c.remotePort,
      proposals: [...(written?.proposals ?? [])],
      rekeyTimeSeconds: c.rekeyTimeSeconds,
      dpdDelaySeconds: c.dpdDelaySeconds,
      encap: c.encap,
      local: { auth: c.local.auth, id: c.local.id },
      remote: { auth: c.remote.auth, id: c.remote.id },
      children: c.children.map((ch) => ({
        name: ch.name,
        mode: ch.mode === "tunnel" ? "TUNNEL" : "TRANSPORT",
        startAction: ch.startAction,
        ...(ch.dpdAction !== undefined ? { dpdAction: ch.dpdAction } : {}),
        ...(ch.closeAction !== undefined ? { closeAction: ch.closeAction } : {}),
        rekeyTimeSeconds: ch.rekeyTimeSeconds,
        lifeTimeSeconds: ch.lifeTimeSeconds,
        espProposals: [...(written?.children[ch.name]?.espProposals ?? [])],
        localTs: ch.localTs.map(formatTs),
        remoteTs: ch.remoteTs.map(formatTs),
      })),
      ikeSas: ikeSaCount(c.name),
    };
  });
}
