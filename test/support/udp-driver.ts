import { openUdp, UdpBindError, type UdpDriver, type UdpHandlers, type UdpOptions } from "../../src/drivers/udp.js";

/**
 * Opens the UDP driver on a random free IKE / NAT-T port pair (base, base + 1) of the test
 * machine, retrying when a port is taken. Throws after 20 attempts.
 */
export async function openUdpOnFreePorts(handlers: UdpHandlers, options: Omit<UdpOptions, "ikePort" | "natTPort"> = {}): Promise<UdpDriver> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    try {
      return await openUdp(handlers, { ...options, ikePort: base, natTPort: base + 1 });
    } catch (e) {
      if (!(e instanceof UdpBindError)) throw e;
    }
  }
  throw new Error("no free port pair found");
}
