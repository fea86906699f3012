/**
 * TCP MSS clamping for packets entering or leaving the tunnel (what `iptables ... TCPMSS
 * --clamp-mss-to-pmtu` does for kernel IPsec).
 *
 * Why: the TUN MTU (1400) is smaller than the LAN MTU (1500), so TCP peers that negotiate an MSS
 * of 1460 rely on Path MTU Discovery; where ICMP "fragmentation needed" is filtered, such
 * connections stall after the handshake (users.md: "inner packets too big after ESP overhead").
 * Lowering the MSS option of SYN and SYN-ACK segments to what fits the tunnel avoids that.
 *
 * Only a MSS option larger than the limit is rewritten; the TCP checksum is updated incrementally
 * (RFC 1624), so the rest of the packet is untouched. Works in place, allocates nothing.
 */

import { adjustChecksum } from "../wire/ip.js";

const TCP = 6;
const TCP_FLAG_SYN = 0x02;
const OPT_EOL = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;

/** The MSS that fits an MTU: minus the IPv4 (20) or IPv6 (40) header and the TCP header (20). */
export function mssForMtu(mtu: number, family: 4 | 6): number {
  return mtu - (family === 4 ? 20 : 40) - 20;
}

/**
 * Lowers the MSS option of a TCP SYN in `packet` (an IPv4 or IPv6 packet starting at byte 0)
 * to at most `maxMss4` (IPv4) or `maxMss6` (IPv6). Returns true when the packet was changed.
 * Malformed or non-TCP packets are left alone (false).
 */
export function clampMss(packet: Uint8Array, maxMss4: number, maxMss6: number): boolean {
  if (packet.length < 20) return false;
  const version = (packet[0] as number) >>> 4;
  let tcp: number;
  let maxMss: number;
  if (version === 4) {
    if (packet[9] !== TCP) return false;
    // Only first fragments carry the TCP header (fragment offset 0).
    if (((((packet[6] as number) & 0x1f) << 8) | (packet[7] as number)) !== 0) return false;
    tcp = ((packet[0] as number) & 0x0f) * 4;
    maxMss = maxMss4;
  } else if (version === 6) {
    // Extension headers before TCP are rare on SYNs; those packets are left alone.
    if (packet.length < 40 || packet[6] !== TCP) return false;
    tcp = 40;
    maxMss = maxMss6;
  } else {
    return false;
  }
  if (packet.length < tcp + 20) return false;
  if (((packet[tcp + 13] as number) & TCP_FLAG_SYN) === 0) return false;
  const dataOffset = ((packet[tcp + 12] as number) >>> 4) * 4;
  const end = tcp + dataOffset;
  if (dataOffset < 20 || end > packet.length) return false;
  let i = tcp + 20;
  while (i < end) {
    const kind = packet[i] as number;
    if (kind === OPT_EOL) break;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return false;
    const len = packet[i + 1] as number;
    if (len < 2 || i + len > end) return false;
    if (kind === OPT_MSS && len === 4) {
      const mss = ((packet[i + 2] as number) << 8) | (packet[i + 3] as number);
      if (mss <= maxMss) return false;
      packet[i + 2] = maxMss >>> 8;
      packet[i + 3] = maxMss & 0xff;
      const hc = ((packet[tcp + 16] as number) << 8) | (packet[tcp + 17] as number);
      const c = adjustChecksum(hc, mss, maxMss);
      packet[tcp + 16] = c >>> 8;
      packet[tcp + 17] = c & 0xff;
      return true;
    }
    i += len;
  }
  return false;
}
