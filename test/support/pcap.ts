/**
 * A tiny capture reader for tests: classic pcap (µs or ns, either byte order) and pcapng
 * (SHB/IDB/EPB/SPB blocks), link types Ethernet (with 802.1Q tags), Linux cooked (SLL and
 * SLL2), BSD loopback (DLT_NULL/LOOP) and raw IP; then IPv4/IPv6 + UDP, to pull out UDP
 * payloads with their addresses and ports. Not a general dissector: IP fragments, IPv6
 * extension headers and non-UDP traffic are skipped (reported as `udp: undefined`).
 */
import { readFileSync } from "node:fs";

/** One captured frame. `frame` is 1-based, as tcpdump -# and Wireshark number them. */
export interface CapturedFrame {
  frame: number;
  linkType: number;
  data: Uint8Array;
}

/** The UDP datagram inside a frame. */
export interface UdpDatagram {
  frame: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

export const LinkType = { NULL: 0, ETHERNET: 1, RAW: 101, LOOP: 108, LINUX_SLL: 113, LINUX_SLL2: 276, IPV4: 228, IPV6: 229 } as const;

/** Reads every frame of a pcap or pcapng file. Throws on anything it does not understand. */
export function readCapture(path: string): CapturedFrame[] {
  const buf = new Uint8Array(readFileSync(path));
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magicBe = dv.getUint32(0, false);
  if (magicBe === 0x0a0d0d0a) return readPcapng(buf, dv);
  return readPcap(buf, dv, magicBe);
}

function readPcap(buf: Uint8Array, dv: DataView, magicBe: number): CapturedFrame[] {
  let le: boolean;
  if (magicBe === 0xa1b2c3d4 || magicBe === 0xa1b23c4d) le = false;
  else if (magicBe === 0xd4c3b2a1 || magicBe === 0x4d3cb2a1) le = true;
  else throw new Error(`not a pcap file (magic ${magicBe.toString(16)})`);
  const linkType = dv.getUint32(20, le) & 0xffff;
  const frames: CapturedFrame[] = [];
  for (let o = 24; o + 16 <= buf.length; ) {
    const incl = dv.getUint32(o + 8, le);
    if (o + 16 + incl > buf.length) throw new Error(`pcap record at ${o} runs past the end`);
    frames.push({ frame: frames.length + 1, linkType, data: buf.slice(o + 16, o + 16 + incl) });
    o += 16 + incl;
  }
  return frames;
}

function readPcapng(buf: Uint8Array, dv: DataView): CapturedFrame[] {
  const frames: CapturedFrame[] = [];
  let le = true;
  let ifaces: number[] = [];
  for (let o = 0; o + 12 <= buf.length; ) {
    if (dv.getUint32(o, false) === 0x0a0d0d0a) {
      // Section Header Block: the byte-order magic decides the endianness of this section.
      le = dv.getUint32(o + 8, true) === 0x1a2b3c4d;
      ifaces = [];
    }
    const type = dv.getUint32(o, le);
    const len = dv.getUint32(o + 4, le);
    if (len < 12 || o + len > buf.length) throw new Error(`pcapng block at ${o} has bad length ${len}`);
    if (type === 1) {
      ifaces.push(dv.getUint16(o + 8, le));
    } else if (type === 6) {
      const iface = dv.getUint32(o + 8, le);
      const caplen = dv.getUint32(o + 20, le);
      frames.push({ frame: frames.length + 1, linkType: ifaces[iface] ?? -1, data: buf.slice(o + 28, o + 28 + caplen) });
    } else if (type === 3) {
      const orig = dv.getUint32(o + 8, le);
      const caplen = Math.min(orig, len - 16);
      frames.push({ frame: frames.length + 1, linkType: ifaces[0] ?? -1, data: buf.slice(o + 12, o + 12 + caplen) });
    }
    o += len;
  }
  return frames;
}

/** The IP packet inside a frame, or undefined for non-IP frames (ARP, ...). */
export function ipPacket(f: CapturedFrame): Uint8Array | undefined {
  const d = f.data;
  const u16 = (o: number): number => ((d[o] ?? 0) << 8) | (d[o + 1] ?? 0);
  const byEthertype = (et: number, at: number): Uint8Array | undefined =>
    et === 0x0800 || et === 0x86dd ? d.subarray(at) : undefined;
  switch (f.linkType) {
    case LinkType.ETHERNET: {
      let at = 12;
      let et = u16(at);
      while (et === 0x8100 || et === 0x88a8) {
        at += 4;
        et = u16(at);
      }
      return byEthertype(et, at + 2);
    }
    case LinkType.LINUX_SLL:
      return byEthertype(u16(14), 16);
    case LinkType.LINUX_SLL2:
      return byEthertype(u16(0), 20);
    case LinkType.NULL:
    case LinkType.LOOP: {
      // Address family in host byte order (NULL) or network order (LOOP); 2 = AF_INET,
      // 24/28/30 = AF_INET6 on the BSDs. Read it both ways.
      const be = (((d[0] ?? 0) << 24) | ((d[1] ?? 0) << 16) | ((d[2] ?? 0) << 8) | (d[3] ?? 0)) >>> 0;
      const le = (((d[3] ?? 0) << 24) | ((d[2] ?? 0) << 16) | ((d[1] ?? 0) << 8) | (d[0] ?? 0)) >>> 0;
      const fam = be < 256 ? be : le;
      return fam === 2 || fam === 24 || fam === 28 || fam === 30 ? d.subarray(4) : undefined;
    }
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6:
      return d;
    default:
      throw new Error(`link type ${f.linkType} not supported`);
  }
}

function ipv4(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

function ipv6(b: Uint8Array, o: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push((((b[o + i] ?? 0) << 8) | (b[o + i + 1] ?? 0)).toString(16));
  return parts.join(":");
}

/** The UDP datagram inside a frame, or undefined when it is not (unfragmented) UDP over IP. */
export function udpDatagram(f: CapturedFrame): UdpDatagram | undefined {
  const ip = ipPacket(f);
  if (!ip || ip.length < 1) return undefined;
  const version = (ip[0] as number) >>> 4;
  let src: string;
  let dst: string;
  let udp: Uint8Array;
  if (version === 4) {
    const ihl = ((ip[0] as number) & 0x0f) * 4;
    const total = ((ip[2] ?? 0) << 8) | (ip[3] ?? 0);
    const fragment = (((ip[6] ?? 0) << 8) | (ip[7] ?? 0)) & 0x3fff;
    if (ip[9] !== 17 || fragment !== 0) return undefined;
    src = ipv4(ip, 12);
    dst = ipv4(ip, 16);
    udp = ip.subarray(ihl, Math.min(total, ip.length));
  } else if (version === 6) {
    if (ip[6] !== 17) return undefined;
    const plen = ((ip[4] ?? 0) << 8) | (ip[5] ?? 0);
    src = ipv6(ip, 8);
    dst = ipv6(ip, 24);
    udp = ip.subarray(40, Math.min(40 + plen, ip.length));
  } else {
    return undefined;
  }
  if (udp.length < 8) return undefined;
  const ulen = ((udp[4] as number) << 8) | (udp[5] as number);
  return {
    frame: f.frame,
    src,
    dst,
    srcPort: ((udp[0] as number) << 8) | (udp[1] as number),
    dstPort: ((udp[2] as number) << 8) | (udp[3] as number),
    payload: udp.slice(8, Math.min(ulen, udp.length)),
  };
}

/** Every UDP datagram in a capture file, keeping the frame numbers. */
export function readUdpDatagrams(path: string): UdpDatagram[] {
  return readCapture(path).flatMap((f) => {
    const d = udpDatagram(f);
    return d ? [d] : [];
  });
}
