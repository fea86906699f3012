/*
 * tsipsec native fast path: TSO segmentation and GRO coalescing for a TUN with IFF_VNET_HDR.
 *
 * Why (docs/performance.md, bench:tunnel): the gateways spent most of their time in the kernel,
 * per packet: the sending gateway's kernel segmented TCP before queueing each segment to the TUN
 * (and its 500-packet queue overflowed), and the receiving gateway's write(2) per decrypted packet
 * carried the whole forwarding path to the inner host. With TSO/checksum offload on the TUN the
 * kernel hands over 64 KiB TCP frames, and with GSO frames written back it forwards one frame per
 * run of segments. The ESP SAs still see ordinary packets of at most the tunnel MTU.
 *
 * Checksums: the Internet checksum (RFC 1071) is a ones' complement sum and so independent of
 * byte order: words are summed as they lie in memory (host order) and the folded result is stored
 * the same way; big-endian constants (protocol, length) are added byte-swapped.
 */
#include "tun_offload.h"

#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include <string.h>

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80

static uint64_t sum_bytes(const uint8_t *p, size_t len, uint64_t acc) {
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    acc += (w & 0xffffffffu) + (w >> 32);
    p += 8;
    len -= 8;
  }
  while (len >= 2) {
    uint16_t w;
    memcpy(&w, p, 2);
    acc += w;
    p += 2;
    len -= 2;
  }
  if (len) {
    uint16_t w = 0;
    memcpy(&w, p, 1); /* the odd byte is the high byte of a big-endian word padded with zero */
    acc += w;
  }
  return acc;
}

static uint16_t fold(uint64_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return (uint16_t)acc;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static uint32_t get32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }
static void put32(uint8_t *p, uint32_t v) {
  put16(p, (uint16_t)(v >> 16));
  put16(p + 2, (uint16_t)v);
}

static void ipv4_header_checksum(uint8_t *ip, size_t ihl) {
  ip[10] = ip[11] = 0;
  uint16_t c = (uint16_t)~fold(sum_bytes(ip, ihl, 0));
  memcpy(ip + 10, &c, 2);
}

/* Sum of the TCP/UDP pseudo-header (RFC 793 / RFC 8200 s8.1) for an L4 length of `l4_len`. */
static uint64_t pseudo_sum(const uint8_t *ip, int v6, uint8_t proto, size_t l4_len) {
  uint64_t acc = v6 ? sum_bytes(ip + 8, 32, 0) : sum_bytes(ip + 12, 8, 0);
  acc += htons(proto);
  acc += htonl((uint32_t)l4_len) >> 16; /* the 32-bit length's two words */
  acc += htonl((uint32_t)l4_len) & 0xffff;
  return acc;
}

/* Plain IPv4 (any IHL, not a fragment) or IPv6 (no extension header) carrying TCP. */
typedef struct {
  int v6;
  size_t iphl; /* IP header bytes */
  size_t thl;  /* TCP header bytes */
} tcp_layout;

static int parse_tcp(const uint8_t *p, size_t len, tcp_layout *t) {
  if (len < 20) return 0;
  if ((p[0] >> 4) == 4) {
    size_t ihl = (size_t)(p[0] & 15) * 4;
    if (ihl < 20 || len < ihl + 20 || p[9] != 6) return 0;
    if ((p[6] & 0x3f) != 0 || p[7] != 0) return 0; /* MF or a fragment offset */
    t->v6 = 0;
    t->iphl = ihl;
  } else if ((p[0] >> 4) == 6) {
    if (len < 60 || p[6] != 6) return 0;
    t->v6 = 1;
    t->iphl = 40;
  } else {
    return 0;
  }
  size_t doff = (size_t)(p[t->iphl + 12] >> 4) * 4;
  if (doff < 20 || len < t->iphl + doff) return 0;
  t->thl = doff;
  return 1;
}

/* Room for `need` bytes at the 8-aligned *out_off and one descriptor? Then reserve them. */
static uint8_t *reserve(uint8_t *out, size_t out_cap, size_t *out_off, int32_t *desc, int desc_cap, int *count, size_t need) {
  size_t off = (*out_off + 7) & ~(size_t)7;
  if (*count >= desc_cap || off > out_cap || need > out_cap - off || off > INT32_MAX) return NULL;
  desc[2 * *count] = (int32_t)off;
  desc[2 * *count + 1] = (int32_t)need;
  (*count)++;
  *out_off = off + need;
  return out + off;
}

int vnet_split(const uint8_t *frame, size_t frame_len, int *next, uint8_t *out, size_t out_cap, size_t *out_off, int32_t *desc,
               int desc_cap, int *count) {
  /* Longer than a TUN reads (vnetSplit and tunReadOffload accept any buffer): an IP packet that
   * the 16-bit length fields of the segments could not describe. */
  if (frame_len <= VNET_HDR_LEN || frame_len > VNET_FRAME_MAX) return -1;
  struct virtio_net_hdr h;
  memcpy(&h, frame, sizeof h);
  const uint8_t *pkt = frame + VNET_HDR_LEN;
  size_t len = frame_len - VNET_HDR_LEN;
  uint8_t gso = h.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

  if (gso == VIRTIO_NET_HDR_GSO_NONE) {
    size_t cs = h.csum_start, co = h.csum_offset;
    if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && (cs > len || co + 2 > len - cs)) return -1;
    uint8_t *o = reserve(out, out_cap, out_off, desc, desc_cap, count, len);
    if (o == NULL) return 0;
    memcpy(o, pkt, len);
    if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
      /* The field holds the pseudo-header sum; the rest is ours to add (RFC 1071). */
      uint16_t c = (uint16_t)~fold(sum_bytes(o + cs, len - cs, 0));
      /* UDP: 0 would mean "no checksum" (RFC 768; invalid over IPv6, RFC 8200 s8.1). Whatever
       * csum_start points at (a UDP header behind IPv6 extension headers too): a computed 0 goes
       * out as 0xffff, the other ones' complement zero, as Linux's skb_checksum_help does. */
      if (c == 0) c = 0xffff;
      memcpy(o + cs + co, &c, 2);
    }
    return 1;
  }

  tcp_layout t;
  if ((gso != VIRTIO_NET_HDR_GSO_TCPV4 && gso != VIRTIO_NET_HDR_GSO_TCPV6) || !parse_tcp(pkt, len, &t) ||
      t.v6 != (gso == VIRTIO_NET_HDR_GSO_TCPV6) || h.gso_size == 0 || *next < 0) {
    /* *next < 0: tunReadOffload takes it from a JS-owned Int32Array; the offset of a negative
     * segment would copy the bytes in front of the frame into `out`. */
    *next = 0;
    return -1;
  }
  size_t hdrs = t.iphl + t.thl;
  size_t payload = len - hdrs;
  size_t mss = h.gso_size;
  int nseg = payload == 0 ? 1 : (int)((payload + mss - 1) / mss);
  uint32_t seq0 = get32(pkt + t.iphl + 4);
  uint16_t id0 = t.v6 ? 0 : get16(pkt + 4);
  for (int i = *next; i < nseg; i++) {
    size_t from = (size_t)i * mss;
    size_t seg = payload - from < mss ? payload - from : mss;
    uint8_t *o = reserve(out, out_cap, out_off, desc, desc_cap, count, hdrs + seg);
    if (o == NULL) {
      *next = i;
      return 0;
    }
    memcpy(o, pkt, hdrs);
    memcpy(o + hdrs, pkt + hdrs + from, seg);
    if (t.v6) {
      put16(o + 4, (uint16_t)(t.thl + seg));
    } else {
      put16(o + 2, (uint16_t)(hdrs + seg));
      put16(o + 4, (uint16_t)(id0 + i));
      ipv4_header_checksum(o, t.iphl);
    }
    uint8_t *th = o + t.iphl;
    put32(th + 4, seq0 + (uint32_t)from);
    if (i < nseg - 1) th[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
    if (i > 0) th[13] &= (uint8_t)~TCP_CWR;
    th[16] = th[17] = 0;
    uint16_t c = (uint16_t)~fold(sum_bytes(th, t.thl + seg, pseudo_sum(o, t.v6, 6, t.thl + seg)));
    memcpy(th + 16, &c, 2);
  }
  *next = 0;
  return 1;
}

/* Can `q` (payload qpay) follow the run that starts with `p` (with `segs` segments, `total` payload bytes)? */
static int continues(const uint8_t *p, const tcp_layout *tp, const uint8_t *q, size_t qlen, const tcp_layout *tq, size_t mss, size_t total,
                     int segs) {
  if (tq->v6 != tp->v6 || tq->iphl != tp->iphl || tq->thl != tp->thl) return 0;
  size_t hdrs = tp->iphl + tp->thl;
  size_t qpay = qlen - hdrs;
  if (qpay == 0 || qpay > mss || hdrs + total + qpay > 65535) return 0;
  if (tp->v6) {
    /* version/traffic class/flow label, next header, hop limit, addresses */
    if (memcmp(p, q, 4) != 0 || memcmp(p + 6, q + 6, 34) != 0) return 0;
    if (get16(q + 4) != tq->thl + qpay) return 0;
  } else {
    /* version/IHL, TOS, flags (DF), TTL, protocol, addresses, options; ID = first + segs */
    if (p[0] != q[0] || p[1] != q[1] || p[6] != q[6] || p[8] != q[8] || p[9] != q[9] || memcmp(p + 12, q + 12, tp->iphl - 12) != 0) return 0;
    if (get16(q + 2) != qlen || get16(q + 4) != (uint16_t)(get16(p + 4) + segs)) return 0;
  }
  const uint8_t *a = p + tp->iphl, *b = q + tq->iphl;
  /* ports, then ACK number, data offset, window, urgent pointer and options equal; sequence in order */
  if (memcmp(a, b, 4) != 0 || memcmp(a + 8, b + 8, 5) != 0 || memcmp(a + 14, b + 14, 2) != 0 || memcmp(a + 18, b + 18, tp->thl - 18) != 0) return 0;
  if (get32(b + 4) != get32(a + 4) + (uint32_t)total) return 0;
  return b[13] == TCP_ACK || b[13] == (TCP_ACK | TCP_PSH);
}

/*
 * Are the IPv4 header checksum and the TCP checksum of this segment (layout `t`, `len` bytes)
 * valid? A GSO frame gets both recomputed (the kernel fills in the TCP checksum through
 * NEEDS_CSUM), so a segment corrupted before its sender's gateway encrypted it would leave with
 * valid checksums and reach TCP as good data. Linux GRO validates both before it merges
 * (inet_gro_receive, tcp4_gro_receive); so do we, and a bad segment goes alone, as it came.
 */
static int checksums_ok(const uint8_t *p, size_t len, const tcp_layout *t) {
  if (!t->v6 && fold(sum_bytes(p, t->iphl, 0)) != 0xffff) return 0;
  size_t l4 = len - t->iphl;
  return fold(sum_bytes(p + t->iphl, l4, pseudo_sum(p, t->v6, 6, l4))) == 0xffff;
}

/* A TCP segment that may start a run: in-order data with only ACK set (PSH ends a run). */
static int may_start(const uint8_t *p, size_t len, tcp_layout *t) {
  if (!parse_tcp(p, len, t) || len == t->iphl + t->thl) return 0;
  if (!t->v6 && get16(p + 2) != len) return 0;
  if (t->v6 && get16(p + 4) != len - 40) return 0;
  return p[t->iphl + 13] == TCP_ACK;
}

int vnet_coalesce(const uint8_t *buf, size_t buf_len, const int32_t *desc, int count, uint8_t *scratch, vnet_sink sink, void *ctx) {
  int frames = 0;
  int i = 0;
  while (i < count) {
    int32_t off = desc[2 * i], len = desc[2 * i + 1];
    if (off < 0 || len <= 0 || (size_t)off > buf_len || (size_t)len > buf_len - (size_t)off || (size_t)len > VNET_FRAME_MAX - VNET_HDR_LEN) {
      i++;
      continue;
    }
    const uint8_t *p = buf + off;
    struct virtio_net_hdr h;
    memset(&h, 0, sizeof h);
    tcp_layout tp;
    int segs = 1;
    size_t total = 0, mss = 0;
    uint8_t last_flags = 0;
    if (may_start(p, (size_t)len, &tp)) {
      mss = (size_t)len - tp.iphl - tp.thl;
      total = mss;
      last_flags = TCP_ACK;
      /* Gather the run's payloads behind the first packet's headers in scratch as we go. */
      int j = i + 1;
      for (; j < count && segs < GRO_MAX_SEGMENTS; j++) {
        int32_t qo = desc[2 * j], ql = desc[2 * j + 1];
        if (qo < 0 || ql <= 0 || (size_t)qo > buf_len || (size_t)ql > buf_len - (size_t)qo) break;
        const uint8_t *q = buf + qo;
        tcp_layout tq;
        if (!parse_tcp(q, (size_t)ql, &tq) || !continues(p, &tp, q, (size_t)ql, &tq, mss, total, segs)) break;
        /* The first segment's sums only once a second one joins: a lone packet goes as it is. */
        if ((segs == 1 && !checksums_ok(p, (size_t)len, &tp)) || !checksums_ok(q, (size_t)ql, &tq)) break;
        size_t qpay = (size_t)ql - tq.iphl - tq.thl;
        if (segs == 1) memcpy(scratch + VNET_HDR_LEN, p, (size_t)len);
        memcpy(scratch + VNET_HDR_LEN + tp.iphl + tp.thl + total, q + tq.iphl + tq.thl, qpay);
        total += qpay;
        segs++;
        last_flags = q[tq.iphl + 13];
        if (qpay < mss || (last_flags & TCP_PSH)) {
          j++;
          break;
        }
      }
      if (segs > 1) {
        uint8_t *o = scratch + VNET_HDR_LEN;
        size_t hdrs = tp.iphl + tp.thl, flen = hdrs + total;
        if (tp.v6) {
          put16(o + 4, (uint16_t)(tp.thl + total));
        } else {
          put16(o + 2, (uint16_t)flen);
          ipv4_header_checksum(o, tp.iphl);
        }
        o[tp.iphl + 13] = last_flags; /* segmentation keeps PSH for the last segment only */
        uint16_t ps = fold(pseudo_sum(o, tp.v6, 6, tp.thl + total));
        memcpy(o + tp.iphl + 16, &ps, 2);
        h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        h.gso_type = tp.v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
        h.hdr_len = (uint16_t)hdrs;
        h.gso_size = (uint16_t)mss;
        h.csum_start = (uint16_t)tp.iphl;
        h.csum_offset = 16;
        memcpy(scratch, &h, sizeof h);
        frames++;
        if (!sink(ctx, scratch, VNET_HDR_LEN + flen, segs)) return frames;
        i = j;
        continue;
      }
    }
    memcpy(scratch, &h, sizeof h);
    memcpy(scratch + VNET_HDR_LEN, p, (size_t)len);
    frames++;
    if (!sink(ctx, scratch, VNET_HDR_LEN + (size_t)len, 1)) return frames;
    i++;
  }
  return frames;
}
