/*
 * libFuzzer + AddressSanitizer/UBSan harness for native/tun_offload.c (vnet_split, vnet_coalesce).
 *
 * Build and run (from the repository root; not part of binding.gyp or npm test):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined native/fuzz/tun_offload_fuzz.c native/tun_offload.c -o /tmp/f
 *   /tmp/f -max_total_time=60                 # add -max_len=70000 for full 64 KiB TSO frames
 * A failed invariant aborts with a message on stderr and libFuzzer keeps the input as crash-*.
 *
 * Why: vnet_split parses frames the local kernel hands the TUN, vnet_coalesce parses packets a peer
 * decrypted for us (peer-controlled bytes). Beyond memory safety the harness checks the contracts
 * of tun_offload.h with its own reference code (byte-wise RFC 1071 sums, big-endian fields):
 *   split:    every packet lies inside `out` at an 8-aligned offset past *out_off, descriptors stay
 *             within desc_cap, resumption with small buffers gives what one call with a large
 *             buffer gives, a call with room for any packet makes progress, and the segments of a
 *             TSO frame are valid packets (lengths, IPv4 ID, sequence numbers, checksums, flags)
 *             whose payloads concatenate to the frame's payload;
 *   coalesce: every in-range packet goes into exactly one frame, in order; frames are at most
 *             VNET_FRAME_MAX; a frame without GSO is the packet itself; a GSO frame splits back into
 *             exactly the packets of its run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tun_offload.h"

/* FUZZ_DUMP=1 prints the packets of a failing input (run the binary on the crash file). */
static void dump(const char *what, const uint8_t *p, size_t len) {
  if (!getenv("FUZZ_DUMP")) return;
  fprintf(stderr, "%s (%zu):", what, len);
  for (size_t i = 0; i < len; i++) fprintf(stderr, "%s%02x", i % 32 ? " " : "\n  ", p[i]);
  fprintf(stderr, "\n");
}

#define CHECK(c, ...)                                             \
  do {                                                            \
    if (!(c)) {                                                   \
      fprintf(stderr, "invariant failed: %s (line %d): ", #c, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                               \
      fprintf(stderr, "\n");                                      \
      abort();                                                    \
    }                                                             \
  } while (0)

/* ---- input consumer ---- */
typedef struct {
  const uint8_t *p;
  size_t n;
} src_t;

static uint32_t take(src_t *s, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; i++) {
    v <<= 8;
    if (s->n) {
      v |= *s->p++;
      s->n--;
    }
  }
  return v;
}

/* ---- reference helpers (independent of tun_offload.c) ---- */
static uint32_t be16(const uint8_t *p) { return ((uint32_t)p[0] << 8) | p[1]; }
static uint32_t be32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }
static void wbe16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void wbe32(uint8_t *p, uint32_t v) {
  wbe16(p, v >> 16);
  wbe16(p + 2, v);
}
static uint64_t csum_add(const uint8_t *p, size_t len, uint64_t acc) {
  for (size_t i = 0; i + 1 < len; i += 2) acc += be16(p + i);
  if (len & 1) acc += (uint32_t)p[len - 1] << 8;
  return acc;
}
static uint32_t csum_fold(uint64_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return (uint32_t)acc;
}
static uint64_t pseudo(const uint8_t *ip, int v6, uint32_t l4len) {
  uint64_t a = v6 ? csum_add(ip + 8, 32, 0) : csum_add(ip + 12, 8, 0);
  return a + 6 + (l4len >> 16) + (l4len & 0xffff);
}
/* A TCP/IP packet with valid lengths and checksums? (iphl 20..60 for v4, 40 for v6) */
static int tcp_valid(const uint8_t *p, size_t len, size_t *iphl_out, size_t *thl_out) {
  if (len < 20) return 0;
  size_t iphl;
  int v6;
  if ((p[0] >> 4) == 4) {
    iphl = (size_t)(p[0] & 15) * 4;
    if (iphl < 20 || len < iphl + 20 || p[9] != 6 || be16(p + 2) != len) return 0;
    if (csum_fold(csum_add(p, iphl, 0)) != 0xffff) return 0;
    v6 = 0;
  } else if ((p[0] >> 4) == 6) {
    if (len < 60 || p[6] != 6 || be16(p + 4) != len - 40) return 0;
    iphl = 40;
    v6 = 1;
  } else {
    return 0;
  }
  size_t thl = (size_t)(p[iphl + 12] >> 4) * 4;
  if (thl < 20 || len < iphl + thl) return 0;
  if (csum_fold(csum_add(p + iphl, len - iphl, pseudo(p, v6, (uint32_t)(len - iphl)))) != 0xffff) return 0;
  *iphl_out = iphl;
  *thl_out = thl;
  return 1;
}
static void fix_checksums(uint8_t *p, size_t len, int v6, size_t iphl) {
  if (!v6) {
    p[10] = p[11] = 0;
    wbe16(p + 10, ~csum_fold(csum_add(p, iphl, 0)) & 0xffff);
  }
  p[iphl + 16] = p[iphl + 17] = 0;
  wbe16(p + iphl + 16, ~csum_fold(csum_add(p + iphl, len - iphl, pseudo(p, v6, (uint32_t)(len - iphl)))) & 0xffff);
}

/* ---- split ---- */
typedef struct {
  uint8_t *out;
  int32_t *desc;
  size_t out_cap;
  int desc_cap;
} big_t;
static big_t big;

static void big_init(void) {
  if (big.out) return;
  big.out_cap = 12u << 20; /* gso_size 1 on a 64 KiB frame: 65k segments of <= 128 aligned bytes */
  big.desc_cap = 70000;
  big.out = malloc(big.out_cap);
  big.desc = malloc(sizeof(int32_t) * 2 * (size_t)big.desc_cap);
}

/* Checks one call's descriptors [count0, count) against out/out_cap/out_off0. */
static void check_emitted(const uint8_t *out, size_t out_cap, size_t off0, const int32_t *desc, int count0, int count, int desc_cap,
                          size_t out_off, size_t frame_len) {
  CHECK(count >= count0 && count <= desc_cap, "count %d count0 %d desc_cap %d", count, count0, desc_cap);
  size_t prev_end = off0;
  for (int k = count0; k < count; k++) {
    int32_t o = desc[2 * k], l = desc[2 * k + 1];
    CHECK(o >= 0 && l > 0, "desc %d: %d %d", k, o, l);
    CHECK((o & 7) == 0, "unaligned offset %d", o);
    CHECK((size_t)o >= prev_end, "packet %d at %d overlaps the previous end %zu", k, o, prev_end);
    CHECK((size_t)o <= out_cap && (size_t)l <= out_cap - (size_t)o, "packet %d [%d,+%d) outside out (%zu)", k, o, l, out_cap);
    CHECK((size_t)l <= frame_len - VNET_HDR_LEN, "packet of %d bytes from a frame of %zu", l, frame_len);
    prev_end = (size_t)o + (size_t)l;
  }
  CHECK(out_off == prev_end || count == count0, "out_off %zu, last end %zu", out_off, prev_end);
  (void)out;
}

/* The reference: one call with room for everything. Returns status; packets in big. */
static int split_once(const uint8_t *frame, size_t frame_len, int *n) {
  int next = 0;
  size_t off = 0;
  *n = 0;
  int r = vnet_split(frame, frame_len, &next, big.out, big.out_cap, &off, big.desc, big.desc_cap, n);
  CHECK(r != 0, "split ran out of room with %zu bytes / %d descriptors (frame %zu bytes)", big.out_cap, big.desc_cap, frame_len);
  CHECK(next == 0, "next %d after a finished frame", next);
  check_emitted(big.out, big.out_cap, 0, big.desc, 0, *n, big.desc_cap, off, frame_len);
  CHECK(r == 1 || *n <= 1, "malformed after %d packets", *n);
  return r;
}

/* Semantic checks of a finished split against the frame. */
static void check_split_semantics(const uint8_t *frame, size_t frame_len, int r, int n) {
  const uint8_t *pkt = frame + VNET_HDR_LEN;
  size_t len = frame_len - VNET_HDR_LEN;
  uint8_t flags = frame[0], gso = frame[1] & 0x7f;
  uint16_t gso_size, cs, co;
  memcpy(&gso_size, frame + 4, 2);
  memcpy(&cs, frame + 6, 2);
  memcpy(&co, frame + 8, 2);
  if (r != 1) return;
  CHECK(frame_len <= VNET_FRAME_MAX, "a frame of %zu bytes split", frame_len);
  if (gso == 0) {
    CHECK(n == 1 && (size_t)big.desc[1] == len, "no-GSO frame gave %d packets", n);
    const uint8_t *o = big.out + big.desc[0];
    if (!(flags & 1)) {
      CHECK(memcmp(o, pkt, len) == 0, "no-GSO packet changed");
    } else {
      CHECK((size_t)cs + co + 2 <= len, "csum at %u+%u in %zu bytes", cs, co, len);
      /* everything but the checksum field unchanged; the field completes the sum from csum_start */
      CHECK(memcmp(o, pkt, (size_t)cs + co) == 0 && memcmp(o + cs + co + 2, pkt + cs + co + 2, len - cs - co - 2) == 0, "bytes changed");
      /* Replace the completed field by what it held (the pseudo-header sum): the folded sum
       * from csum_start is then what the field must hold the complement of. Only an even
       * csum_offset makes the field a word of that sum (TCP 16, UDP 6). */
      if (co % 2 == 0) {
        static uint8_t tmp[65536];
        memcpy(tmp, o + cs, len - cs);
        tmp[co] = pkt[cs + co];
        tmp[co + 1] = pkt[cs + co + 1];
        uint32_t want = ~csum_fold(csum_add(tmp, len - cs, 0)) & 0xffff;
        uint32_t newf = be16(o + cs + co);
        CHECK(newf == (want ? want : 0xffff), "completed checksum %04x, want %04x (0 goes out as 0xffff)", newf, want);
      }
    }
    return;
  }
  /* TSO: independent re-derivation. */
  int v6 = gso == 4;
  size_t iphl = v6 ? 40 : (size_t)(pkt[0] & 15) * 4;
  size_t thl = (size_t)(pkt[iphl + 12] >> 4) * 4;
  size_t hdrs = iphl + thl, payload = len - hdrs;
  size_t nseg = payload == 0 ? 1 : (payload + gso_size - 1) / gso_size;
  CHECK((size_t)n == nseg, "%d segments, want %zu", n, nseg);
  uint32_t seq0 = be32(pkt + iphl + 4);
  uint8_t f0 = pkt[iphl + 13];
  size_t from = 0;
  for (int k = 0; k < n; k++) {
    const uint8_t *o = big.out + big.desc[2 * k];
    size_t l = (size_t)big.desc[2 * k + 1];
    size_t seg = payload - from < gso_size ? payload - from : gso_size;
    CHECK(l == hdrs + seg, "segment %d: %zu bytes, want %zu", k, l, hdrs + seg);
    size_t a, b;
    CHECK(tcp_valid(o, l, &a, &b) && a == iphl && b == thl, "segment %d invalid (lengths/checksums)", k);
    CHECK(memcmp(o + hdrs, pkt + hdrs + from, seg) == 0, "segment %d payload", k);
    CHECK(be32(o + iphl + 4) == (uint32_t)(seq0 + from), "segment %d seq", k);
    if (!v6) CHECK(be16(o + 4) == ((be16(pkt + 4) + (uint32_t)k) & 0xffff), "segment %d id", k);
    uint8_t want = f0;
    if (k < n - 1) want &= (uint8_t)~0x09;
    if (k > 0) want &= (uint8_t)~0x80;
    CHECK(o[iphl + 13] == want, "segment %d flags %02x want %02x", k, o[iphl + 13], want);
    /* headers but for length, ID, checksums, seq, flags unchanged */
    if (v6) {
      CHECK(memcmp(o, pkt, 4) == 0 && memcmp(o + 6, pkt + 6, 34) == 0, "segment %d v6 header", k);
    } else {
      CHECK(memcmp(o, pkt, 2) == 0 && memcmp(o + 6, pkt + 6, 4) == 0 && memcmp(o + 12, pkt + 12, iphl - 12) == 0, "segment %d v4 header", k);
    }
    CHECK(memcmp(o + iphl, pkt + iphl, 4) == 0 && memcmp(o + iphl + 8, pkt + iphl + 8, 5) == 0 && memcmp(o + iphl + 14, pkt + iphl + 14, 2) == 0 &&
              memcmp(o + iphl + 18, pkt + iphl + 18, thl - 18) == 0,
          "segment %d tcp header", k);
    from += seg;
  }
  CHECK(from == payload, "payload %zu of %zu", from, payload);
}

static void fuzz_split(src_t *s) {
  big_init();
  uint32_t seed = take(s, 4);
  size_t frame_len = s->n;
  uint8_t *frame = malloc(frame_len ? frame_len : 1);
  memcpy(frame, s->p, frame_len);

  int ref_n;
  int ref_r = frame_len <= VNET_HDR_LEN ? -1 : split_once(frame, frame_len, &ref_n);
  if (frame_len <= VNET_HDR_LEN) {
    int next = 0, n = 0;
    size_t off = 0;
    CHECK(vnet_split(frame, frame_len, &next, big.out, big.out_cap, &off, big.desc, big.desc_cap, &n) == -1 && n == 0, "short frame");
    free(frame);
    return;
  }
  check_split_semantics(frame, frame_len, ref_r, ref_n);
  /* Keep the reference packets. */
  size_t ref_bytes = ref_n ? (size_t)big.desc[2 * (ref_n - 1)] + (size_t)big.desc[2 * (ref_n - 1) + 1] : 0;
  uint8_t *ref = malloc(ref_bytes ? ref_bytes : 1);
  memcpy(ref, big.out, ref_bytes);
  int32_t *ref_desc = malloc(sizeof(int32_t) * 2 * (size_t)(ref_n ? ref_n : 1));
  memcpy(ref_desc, big.desc, sizeof(int32_t) * 2 * (size_t)ref_n);

  /* A caller's *next out of range (tunReadOffload keeps it in a JS-owned Int32Array): negative
   * is malformed, past the last segment emits nothing. No GSO ignores it. */
  {
    int probes[2] = {-1 - (int)(seed % 3u), ref_n + (int)(seed % 3u)};
    for (int q = 0; q < 2; q++) {
      int nx = probes[q], n = 0;
      size_t off = 0;
      int r = vnet_split(frame, frame_len, &nx, big.out, big.out_cap, &off, big.desc, big.desc_cap, &n);
      check_emitted(big.out, big.out_cap, 0, big.desc, 0, n, big.desc_cap, off, frame_len);
      if ((frame[1] & 0x7f) != 0 && ref_r == 1) CHECK(q == 0 ? r == -1 && n == 0 : r == 1 && n == 0, "next %d: status %d, %d packets", probes[q], r, n);
    }
  }

  /* Resumed: small random buffers per call (a PRNG from the input keeps inputs short). */
  int next = 0, got = 0, stalls = 0;
  for (int round = 0;; round++) {
    seed = seed * 1103515245u + 12345u;
    uint32_t rnd = seed >> 8;
    size_t out_cap = (rnd & 3) == 0 ? 70000 : (rnd >> 2) % 3000;
    int desc_cap = (int)((rnd >> 14) % 6);
    size_t off0 = (rnd >> 17) % 24;
    int count0 = desc_cap ? (int)((rnd >> 22) % (unsigned)desc_cap) : 0;
    if (stalls > 8) { /* room for anything: must progress */
      out_cap = 70000;
      desc_cap = 4;
      off0 = 0;
      count0 = 0;
    }
    uint8_t *out = malloc(out_cap ? out_cap : 1);
    int32_t *desc = malloc(sizeof(int32_t) * 2 * (size_t)(desc_cap ? desc_cap : 1));
    size_t off = off0;
    int count = count0;
    int r = vnet_split(frame, frame_len, &next, out, out_cap, &off, desc, desc_cap, &count);
    CHECK(r == ref_r || r == 0, "status %d, reference %d", r, ref_r);
    check_emitted(out, out_cap, off0, desc, count0, count, desc_cap, off, frame_len);
    for (int k = count0; k < count; k++) {
      CHECK(got < ref_n, "more packets than the reference (%d)", ref_n);
      CHECK(desc[2 * k + 1] == ref_desc[2 * got + 1] && memcmp(out + desc[2 * k], ref + ref_desc[2 * got], (size_t)desc[2 * k + 1]) == 0,
            "resumed packet %d differs", got);
      got++;
    }
    if (r == 0) CHECK(next >= 0 && next <= ref_n, "next %d of %d", next, ref_n);
    if (r == 0 && count == count0 && out_cap == 70000 && desc_cap > count0 && off0 == 0) CHECK(0, "no progress with room for any packet");
    stalls = count == count0 ? stalls + 1 : 0;
    free(out);
    free(desc);
    if (r != 0) {
      CHECK(next == 0, "next %d after status %d", next, r);
      break;
    }
    CHECK(round < 200000, "split never finishes");
  }
  CHECK(got == ref_n || ref_r == -1, "resumed %d packets, reference %d", got, ref_n);
  free(ref);
  free(ref_desc);
  free(frame);
}

/* ---- coalesce ---- */
#define MAXP 96

typedef struct {
  const uint8_t *buf;
  size_t buf_len;
  const int32_t *desc;
  int count;
  int valid[MAXP]; /* indexes of in-range descriptors, in order */
  int nvalid;
  int consumed;  /* valid packets accounted for by frames so far */
  int frames;
  uint32_t stop_seed; /* sink returns 0 when a PRNG says so */
  int stopped;
} coal_ctx;

static int sink(void *c, const uint8_t *frame, size_t len, int packets) {
  coal_ctx *k = c;
  CHECK(!k->stopped, "sink called after it said stop");
  CHECK(len > VNET_HDR_LEN && len <= VNET_FRAME_MAX, "frame of %zu bytes", len);
  CHECK(packets >= 1 && packets <= GRO_MAX_SEGMENTS && k->consumed + packets <= k->nvalid, "frame with %d packets (%d of %d used)", packets,
        k->consumed, k->nvalid);
  uint8_t hdr[VNET_HDR_LEN];
  memcpy(hdr, frame, VNET_HDR_LEN);
  if (packets == 1) {
    static const uint8_t zero[VNET_HDR_LEN];
    int i = k->valid[k->consumed];
    CHECK(memcmp(hdr, zero, VNET_HDR_LEN) == 0, "single packet with a GSO header");
    CHECK(len - VNET_HDR_LEN == (size_t)k->desc[2 * i + 1] && memcmp(frame + VNET_HDR_LEN, k->buf + k->desc[2 * i], len - VNET_HDR_LEN) == 0,
          "single packet %d changed", i);
  } else {
    CHECK(hdr[0] == 1 && (hdr[1] == 1 || hdr[1] == 4), "GSO header flags %u type %u", hdr[0], hdr[1]);
    /* The frame must be a valid TSO frame that splits back into exactly the run. */
    int n;
    int r = split_once(frame, len, &n);
    CHECK(r == 1, "coalesced frame does not split (%d)", r);
    check_split_semantics(frame, len, r, n);
    CHECK(n == packets, "coalesced %d packets, split gives %d", packets, n);
    dump("coalesced frame", frame, len);
    for (int j = 0; j < n; j++) {
      int i = k->valid[k->consumed + j];
      dump("input", k->buf + k->desc[2 * i], (size_t)k->desc[2 * i + 1]);
      dump("split", big.out + big.desc[2 * j], (size_t)big.desc[2 * j + 1]);
      size_t l = (size_t)k->desc[2 * i + 1];
      CHECK((size_t)big.desc[2 * j + 1] == l && memcmp(big.out + big.desc[2 * j], k->buf + k->desc[2 * i], l) == 0,
            "round trip: segment %d of the frame differs from input packet %d", j, i);
      size_t a, b;
      CHECK(tcp_valid(k->buf + k->desc[2 * i], l, &a, &b), "an input packet with a bad checksum or length went into a GSO frame");
    }
  }
  k->consumed += packets;
  k->frames++;
  k->stop_seed = k->stop_seed * 1103515245u + 12345u;
  if (((k->stop_seed >> 16) & 31) == 0) {
    k->stopped = 1;
    return 0;
  }
  return 1;
}

/* Builds a list of packets from the input: mostly in-order segments of one flow, with mutations. */
static void fuzz_coalesce(src_t *s) {
  big_init();
  static uint8_t pk[MAXP][1600];
  size_t plen[MAXP];
  int np = 0;

  /* flow template */
  uint32_t t = take(s, 2);
  int v6 = t & 1;
  size_t optlen = ((t >> 1) & 7) * 4;  /* TCP options 0..28 */
  size_t ipopt = v6 ? 0 : ((t >> 4) & 3) * 4; /* IPv4 options 0..12 */
  size_t mss = 1 + take(s, 2) % 1400;
  size_t iphl = v6 ? 40 : 20 + ipopt, thl = 20 + optlen, hdrs = iphl + thl;
  uint8_t tmpl[120];
  memset(tmpl, 0, sizeof tmpl);
  for (size_t i = 0; i < hdrs; i++) tmpl[i] = (uint8_t)take(s, 1);
  if (v6) {
    tmpl[0] = (uint8_t)(0x60 | (tmpl[0] & 15));
    tmpl[6] = 6;
  } else {
    tmpl[0] = (uint8_t)(0x40 | (iphl / 4));
    tmpl[6] &= 0xc0; /* DF / reserved, no fragment */
    tmpl[7] = 0;
    tmpl[9] = 6;
  }
  tmpl[iphl + 12] = (uint8_t)((thl / 4) << 4 | (tmpl[iphl + 12] & 15));
  uint32_t seq = be32(tmpl + iphl + 4);
  uint32_t id = be16(tmpl + 4);

  while (s->n && np < MAXP) {
    uint32_t op = take(s, 1);
    uint8_t *p = pk[np];
    size_t len;
    if ((op & 0xc0) != 0xc0) {
      /* the next in-order segment: payload mss (or shorter), flags ACK (sometimes PSH) */
      size_t pay = (op & 0x30) == 0x30 ? 1 + take(s, 2) % mss : mss;
      len = hdrs + pay;
      memcpy(p, tmpl, hdrs);
      for (size_t i = 0; i < pay; i++) p[hdrs + i] = (uint8_t)(np * 7 + i);
      if (v6)
        wbe16(p + 4, (uint32_t)(len - 40));
      else {
        wbe16(p + 2, (uint32_t)len);
        wbe16(p + 4, id);
      }
      wbe32(p + iphl + 4, seq);
      p[iphl + 13] = (op & 0x0f) == 0x0f ? 0x18 : 0x10;
      seq += (uint32_t)pay;
      id = (id + 1) & 0xffff;
      fix_checksums(p, len, v6, iphl);
      if ((op & 0x30) == 0x20) {
        /* a mutation: byte at a position (0..len) := value; sometimes checksums redone */
        uint32_t m = take(s, 3);
        size_t at = (m >> 8) % len;
        p[at] = (uint8_t)m;
        if (op & 0x08) fix_checksums(p, len, v6, iphl);
      }
    } else {
      /* raw bytes */
      len = take(s, 1) % 200;
      for (size_t i = 0; i < len; i++) p[i] = (uint8_t)take(s, 1);
      if (op & 1) {
        size_t l2 = len;
        if (len >= 1) p[0] = (uint8_t)((op & 2) ? 0x60 | (p[0] & 15) : 0x40 | (p[0] & 15));
        (void)l2;
      }
    }
    plen[np++] = len;
  }
  if (np == 0) return;

  /* Pack into an exactly sized buffer with gaps; some descriptors point outside. */
  uint32_t lay = take(s, 4);
  size_t total = 0;
  for (int i = 0; i < np; i++) total += plen[i] + ((lay >> (i % 29)) & 3);
  uint8_t *buf = malloc(total ? total : 1);
  int32_t *desc = malloc(sizeof(int32_t) * 2 * (size_t)np);
  size_t off = 0;
  for (int i = 0; i < np; i++) {
    off += (lay >> (i % 29)) & 3;
    if (off + plen[i] > total) off = total - plen[i];
    memcpy(buf + off, pk[i], plen[i]);
    desc[2 * i] = (int32_t)off;
    desc[2 * i + 1] = (int32_t)plen[i];
    off += plen[i];
  }
  uint32_t bad = take(s, 2);
  if (bad & 1) {
    int i = (int)((bad >> 1) % (unsigned)np);
    switch ((bad >> 8) & 7) {
      case 0: desc[2 * i] = -1; break;
      case 1: desc[2 * i + 1] = -5; break;
      case 2: desc[2 * i] = (int32_t)total; break;
      case 3: desc[2 * i + 1] += 1; break;
      case 4: desc[2 * i] = INT32_MAX; break;
      case 5: desc[2 * i + 1] = INT32_MAX; break;
      case 6: desc[2 * i + 1] = 0; break;
      default: desc[2 * i] = INT32_MIN; break;
    }
  }
  coal_ctx k;
  memset(&k, 0, sizeof k);
  k.buf = buf;
  k.buf_len = total;
  k.desc = desc;
  k.count = np;
  k.stop_seed = take(s, 2);
  for (int i = 0; i < np; i++) {
    int32_t o = desc[2 * i], l = desc[2 * i + 1];
    if (o >= 0 && l > 0 && (size_t)o <= total && (size_t)l <= total - (size_t)o && (size_t)l <= 65535) k.valid[k.nvalid++] = i;
  }
  uint8_t *scratch = malloc(VNET_FRAME_MAX);
  int frames = vnet_coalesce(buf, total, desc, np, scratch, sink, &k);
  CHECK(frames == k.frames, "returned %d frames, sink saw %d", frames, k.frames);
  if (!k.stopped) CHECK(k.consumed == k.nvalid, "%d of %d packets in frames", k.consumed, k.nvalid);
  free(scratch);
  free(buf);
  free(desc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  src_t s = {data + 1, size - 1};
  if (data[0] & 1)
    fuzz_coalesce(&s);
  else
    fuzz_split(&s);
  return 0;
}
