/*
 * tsipsec native fast path: batched packet I/O for the TUN fd and the NAT-T UDP socket.
 *
 * Why: with the AEAD in native code, the gateway's time went to one JS->native crossing plus one
 * system call per packet (bench:tunnel profiles, docs/performance.md: UDP send 22.6% and TUN read
 * 11.1% on the sending gateway). Here one N-API call moves a whole burst:
 *   - TUN read: non-blocking read(2) in a loop until EAGAIN, packed into one caller buffer;
 *   - TUN write: write(2) per packet in a loop (a TUN fd takes one packet per write);
 *   - UDP send: sendmmsg(2), one system call for up to BATCH_CHUNK datagrams;
 *   - UDP receive: recvmmsg(2) into fixed slots of one caller buffer.
 * Every buffer is owned by the caller (preallocated once in JavaScript), so nothing is allocated
 * per packet on either side. Every call is non-blocking (MSG_DONTWAIT / O_NONBLOCK fds) and never
 * throws for I/O errors: results are counts and per-packet statuses; only argument errors (caller
 * bugs) throw TypeError.
 *
 * JavaScript surface (descriptor arrays are Int32Array, offsets are bytes into `buf`):
 *   tunReadBatch(fd, buf, desc, maxPackets, maxPacketBytes) -> n | -errno
 *       desc[2i] = offset, desc[2i+1] = length of packet i. Stops at EAGAIN, at maxPackets, or
 *       when fewer than maxPacketBytes remain in buf (a TUN read into a short buffer truncates).
 *       -errno only when the first read failed with something other than EAGAIN.
 *   tunWriteBatch(fd, buf, desc, count) -> packets the kernel accepted whole
 *       desc[2i] = offset, desc[2i+1] = length.
 *   udpSendBatch(fd, buf, desc, count, addrs, gso = 0) -> datagrams sent
 *       desc[4i] = offset, [4i+1] = length, [4i+2] = index of a 32-byte sockaddr slot in addrs,
 *       [4i+3] <- status: 0 sent, 1 not attempted (socket buffer full: the caller may retry or
 *       queue elsewhere), -errno for a datagram the kernel refused (e.g. -ENETUNREACH).
 *       gso = 1: runs of equal-size datagrams to one destination leave as one UDP_SEGMENT message
 *       (UDP GSO: one trip through the stack, split at the device or the receiving socket).
 *   udpRecvBatch(fd, buf, slotBytes, desc, addrs, maxPackets) -> n | -errno
 *       datagram i is at buf[i*slotBytes], desc[2i] = length, desc[2i+1] = 1 when truncated;
 *       its source sockaddr is in addrs[i*32 .. i*32+32]. 0 when nothing was queued.
 *       With `segs` (Int32Array): segs[i] = the UDP_GRO segment size of a coalesced datagram (its
 *       slot holds consecutive datagrams of that size, the last possibly shorter), 0 otherwise.
 *   udpSetGro(fd, on) -> 0 | -errno
 *       setsockopt(UDP_GRO): the kernel queues a run of same-size datagrams of one flow (or a UDP
 *       GSO send arriving whole) as one, instead of splitting it before the socket.
 *   tunSetOffload(fd, flags) -> 0 | -errno
 *       ioctl(TUNSETOFFLOAD, flags) on a TUN opened with IFF_VNET_HDR (TUN_F_CSUM | TUN_F_TSO4 | ...).
 *   tunReadOffload(fd, buf, desc, maxPackets, frame, state) -> n | -errno
 *       tunReadBatch for a TUN with IFF_VNET_HDR: each frame read into `frame` (>= 65545 bytes) is
 *       split into plain IP packets in buf/desc by vnet_split (tun_offload.h): TSO frames become
 *       segments, partial checksums are completed. state (Int32Array of 5): [0] bytes of a frame
 *       not fully emitted yet (kept in `frame` for the next call), [1] its next segment,
 *       [2] frames read, [3] TSO frames among them, [4] malformed frames dropped (counters only grow).
 *   tunWriteOffload(fd, buf, desc, count, scratch, state) -> packets the kernel accepted whole
 *       tunWriteBatch for a TUN with IFF_VNET_HDR: vnet_coalesce turns runs of TCP segments of one
 *       flow into GSO frames (scratch >= 65545 bytes). state (Int32Array of 3): [0] frames
 *       written, [1] packets that went inside a GSO frame, [2] GSO frames (counters only grow).
 *   vnetSplit(frame, frameLen, out, desc, state) / vnetCoalesce(buf, desc, count, out, outDesc)
 *       The two steps alone, for tests: vnetSplit -> packets emitted (state [0] next segment,
 *       [1] 1 = done / 0 = out of room / -1 = malformed); vnetCoalesce -> frames written into
 *       `out` packed, outDesc[3k..] = offset, length, packets inside.
 *   udpSendBatchAsync(fd, buf, desc, count, addrs, gso, callback(sent))
 *   tunWriteAsync(fd, buf, desc, count, scratch | null, state | null, callback(accepted))
 *       udpSendBatch / tunWriteBatch (scratch null) / tunWriteOffload on a libuv thread-pool thread;
 *       the callback gets the result on the event loop. Until then the caller must neither touch
 *       the arrays nor queue a second job for the same fd (the order of packets is the caller's).
 *   dupFd(fd) -> new fd (close-on-exec) | -errno
 *   closeFd(fd) -> 0 | -errno
 *       A second descriptor of a UDP socket gets its own uv_poll watcher: libuv allows one watcher
 *       per fd number in a loop, and the socket's own (dgram) watcher keeps the original.
 *
 * A sockaddr slot is struct sockaddr_in (family AF_INET) or struct sockaddr_in6 (AF_INET6) in
 * host layout: u16 family (little-endian on the ABIs Node runs on), u16 port (network order), ...
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdlib.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>

#include "tun_offload.h"

#define ADDR_SLOT 32

static int udp_send_core(int fd, unsigned char *buf, size_t buf_len, int32_t *desc, int count, unsigned char *addrs, size_t addrs_len, int gso);
/* Datagrams per sendmmsg/recvmmsg system call (the kernel caps vlen at UIO_MAXIOV = 1024). */
#define BATCH_CHUNK 64
/* UDP GSO limits: segments per message (the kernel's UDP_MAX_SEGMENTS is 64 or more) and bytes. */
#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES 65000

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_TSIPSEC_NATIVE", msg);
  return NULL;
}

static napi_value int_result(napi_env env, int v) {
  napi_value r;
  if (napi_create_int32(env, v, &r) != napi_ok) return NULL;
  return r;
}

static int get_int(napi_env env, napi_value v, int *out) { return napi_get_value_int32(env, v, out) == napi_ok; }

/* Any TypedArray's bytes; *len in bytes. */
static int get_bytes(napi_env env, napi_value v, unsigned char **p, size_t *len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  napi_typedarray_type type;
  size_t n;
  void *data;
  if (napi_get_typedarray_info(env, v, &type, &n, &data, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint8_array && type != napi_int8_array && type != napi_uint8_clamped_array) return 0;
  *p = (unsigned char *)data;
  *len = n;
  return 1;
}

/* An Int32Array; *len in elements. */
static int get_i32(napi_env env, napi_value v, int32_t **p, size_t *len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  napi_typedarray_type type;
  void *data;
  if (napi_get_typedarray_info(env, v, &type, len, &data, NULL, NULL) != napi_ok || type != napi_int32_array) return 0;
  *p = (int32_t *)data;
  return 1;
}

/* Offset/length inside a buffer of buf_len bytes (no overflow: both are checked non-negative). */
static int in_bounds(int32_t off, int32_t len, size_t buf_len) {
  return off >= 0 && len >= 0 && (size_t)off <= buf_len && (size_t)len <= buf_len - (size_t)off;
}

/*
 * One batch TUN write or ESP send, as parsed from its JavaScript arguments: run at once by the
 * synchronous entry points, or on a libuv thread-pool thread by the asynchronous ones (issue 7,
 * CPU share: the two heaviest system calls of a gateway, the ESP sendmmsg of the sending side,
 * which also carries the receiving stack's work up to the peer's socket, and the TUN write of the
 * receiving side, which carries the forwarding to the inner host, leave the event loop while it
 * goes on reading and sealing the next burst). An async caller keeps at most one job per fd in
 * flight (order is kept) and must not touch the job's buffers until its callback ran; the arrays
 * are referenced until then.
 */
typedef enum { JOB_UDP_SEND, JOB_TUN_WRITE, JOB_TUN_WRITE_OFFLOAD } job_kind;

typedef struct {
  job_kind kind;
  napi_async_work work;
  napi_ref refs[6];
  int nrefs;
  napi_ref cb;
  int fd, count, gso;
  unsigned char *buf, *addrs, *scratch;
  size_t buf_len, addrs_len;
  int32_t *desc, *state;
  int result;
} io_job;

typedef struct {
  int fd;
  int ok;
  int32_t *state;
} tun_write_ctx;

static int tun_write_frame(void *c, const uint8_t *frame, size_t len, int packets) {
  tun_write_ctx *w = c;
  ssize_t r;
  do r = write(w->fd, frame, len);
  while (r < 0 && errno == EINTR);
  if (r == (ssize_t)len) {
    w->ok += packets;
    w->state[0]++;
    if (packets > 1) {
      w->state[1] += packets;
      w->state[2]++;
    }
  }
  return 1;
}

static int tun_write_plain_core(int fd, unsigned char *buf, size_t buf_len, int32_t *desc, int count) {
  int ok = 0;
  for (int i = 0; i < count; i++) {
    int32_t off = desc[2 * i], len = desc[2 * i + 1];
    if (!in_bounds(off, len, buf_len)) continue;
    ssize_t r;
    do r = write(fd, buf + off, (size_t)len);
    while (r < 0 && errno == EINTR);
    if (r == len) ok++;
  }
  return ok;
}

/* Runs the job on the calling thread (no N-API: safe on a thread-pool thread). */
static void job_execute(napi_env env, void *data) {
  io_job *j = data;
  if (j->kind == JOB_UDP_SEND) {
    j->result = udp_send_core(j->fd, j->buf, j->buf_len, j->desc, j->count, j->addrs, j->addrs_len, j->gso);
  } else if (j->kind == JOB_TUN_WRITE) {
    j->result = tun_write_plain_core(j->fd, j->buf, j->buf_len, j->desc, j->count);
  } else {
    tun_write_ctx w = {j->fd, 0, j->state};
    vnet_coalesce(j->buf, j->buf_len, j->desc, j->count, j->scratch, tun_write_frame, &w);
    j->result = w.ok;
  }
}

/*
 * (fd, buf, desc, count[, scratch, state]) of a TUN write: a plain write, or with a scratch
 * frame buffer (>= VNET_FRAME_MAX) and a state array (>= 3) given as argv[4] and argv[5] (argc
 * >= 6, scratch not null), the coalescing write of a TUN with IFF_VNET_HDR. 0 on a bad argument.
 */
static int parse_tun_write(napi_env env, napi_value *argv, size_t argc, io_job *j) {
  size_t desc_len, scratch_len, state_len;
  napi_valuetype st;
  if (!get_int(env, argv[0], &j->fd) || !get_bytes(env, argv[1], &j->buf, &j->buf_len) || !get_i32(env, argv[2], &j->desc, &desc_len) ||
      !get_int(env, argv[3], &j->count) || j->count < 0 || (size_t)j->count > desc_len / 2)
    return 0;
  j->kind = JOB_TUN_WRITE;
  if (argc < 6) return 1;
  if (napi_typeof(env, argv[4], &st) != napi_ok) return 0;
  if (st == napi_null || st == napi_undefined) return 1;
  if (!get_bytes(env, argv[4], &j->scratch, &scratch_len) || scratch_len < VNET_FRAME_MAX || !get_i32(env, argv[5], &j->state, &state_len) || state_len < 3)
    return 0;
  j->kind = JOB_TUN_WRITE_OFFLOAD;
  return 1;
}

/* (fd, buf, desc, count, addrs[, gso]) of an ESP send; gso read when argc >= 6. 0 on a bad argument. */
static int parse_udp_send(napi_env env, napi_value *argv, size_t argc, io_job *j) {
  size_t desc_len;
  j->kind = JOB_UDP_SEND;
  j->gso = 0;
  return get_int(env, argv[0], &j->fd) && get_bytes(env, argv[1], &j->buf, &j->buf_len) && get_i32(env, argv[2], &j->desc, &desc_len) &&
         get_int(env, argv[3], &j->count) && j->count >= 0 && (size_t)j->count <= desc_len / 4 && get_bytes(env, argv[4], &j->addrs, &j->addrs_len) &&
         (argc < 6 || get_int(env, argv[5], &j->gso));
}

static napi_value js_tun_write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  io_job j = {0};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 || !parse_tun_write(env, argv, 4, &j))
    return throw_type(env, "tunWriteBatch(fd, buf, desc, count)");
  job_execute(env, &j);
  return int_result(env, j.result);
}

static napi_value js_tun_write_offload(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  io_job j = {0};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6 || !parse_tun_write(env, argv, 6, &j) || j.kind != JOB_TUN_WRITE_OFFLOAD)
    return throw_type(env, "tunWriteOffload(fd, buf, desc, count, scratch, state)");
  job_execute(env, &j);
  return int_result(env, j.result);
}

static napi_value js_udp_send_batch(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  io_job j = {0};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5 || !parse_udp_send(env, argv, argc, &j))
    return throw_type(env, "udpSendBatch(fd, buf, desc, count, addrs, gso?)");
  job_execute(env, &j);
  return int_result(env, j.result);
}

static napi_value js_tun_read_batch(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) return throw_type(env, "tunReadBatch(fd, buf, desc, maxPackets, maxPacketBytes)");
  int fd, max_packets, max_packet_bytes;
  unsigned char *buf;
  size_t buf_len, desc_len;
  int32_t *desc;
  if (!get_int(env, argv[0], &fd) || !get_bytes(env, argv[1], &buf, &buf_len) || !get_i32(env, argv[2], &desc, &desc_len) ||
      !get_int(env, argv[3], &max_packets) || !get_int(env, argv[4], &max_packet_bytes) || max_packet_bytes <= 0 || max_packets < 0)
    return throw_type(env, "tunReadBatch(fd, buf, desc, maxPackets, maxPacketBytes)");
  if ((size_t)max_packets > desc_len / 2) max_packets = (int)(desc_len / 2);
  size_t off = 0;
  int n = 0;
  while (n < max_packets && buf_len - off >= (size_t)max_packet_bytes) {
    ssize_t r = read(fd, buf + off, buf_len - off);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (n == 0 && errno != EAGAIN && errno != EWOULDBLOCK) return int_result(env, -errno);
      break;
    }
    if (r == 0) break;
    desc[2 * n] = (int32_t)off;
    desc[2 * n + 1] = (int32_t)r;
    n++;
    /* Keep the next packet 8-byte aligned: the data plane reads headers with DataView. */
    off += ((size_t)r + 7) & ~(size_t)7;
    if (off > buf_len) off = buf_len;
  }
  return int_result(env, n);
}


static napi_value js_tun_set_offload(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int fd, flags;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &flags))
    return throw_type(env, "tunSetOffload(fd, flags)");
  return int_result(env, ioctl(fd, TUNSETOFFLOAD, (unsigned int)flags) < 0 ? -errno : 0);
}

static napi_value js_tun_read_offload(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  const char *usage = "tunReadOffload(fd, buf, desc, maxPackets, frame, state)";
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6) return throw_type(env, usage);
  int fd, max_packets;
  unsigned char *buf, *frame;
  size_t buf_len, desc_len, frame_cap, state_len;
  int32_t *desc, *state;
  if (!get_int(env, argv[0], &fd) || !get_bytes(env, argv[1], &buf, &buf_len) || !get_i32(env, argv[2], &desc, &desc_len) ||
      !get_int(env, argv[3], &max_packets) || max_packets < 0 || !get_bytes(env, argv[4], &frame, &frame_cap) || frame_cap < VNET_FRAME_MAX ||
      !get_i32(env, argv[5], &state, &state_len) || state_len < 5 || state[0] < 0 || (size_t)state[0] > frame_cap)
    return throw_type(env, usage);
  if ((size_t)max_packets > desc_len / 2) max_packets = (int)(desc_len / 2);
  size_t off = 0;
  int n = 0;
  for (;;) {
    if (state[0] > 0) {
      int next = state[1];
      int r = vnet_split(frame, (size_t)state[0], &next, buf, buf_len, &off, desc, max_packets, &n);
      if (r == 0) {
        state[1] = next;
        break; /* out of room: the rest of this frame comes with the next call */
      }
      if (r < 0) state[4]++;
      state[0] = 0;
      state[1] = 0;
    }
    if (n >= max_packets) break;
    ssize_t r = read(fd, frame, frame_cap);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (n == 0 && errno != EAGAIN && errno != EWOULDBLOCK) return int_result(env, -errno);
      break;
    }
    if (r == 0) break;
    state[2]++;
    if (r > VNET_HDR_LEN && (frame[1] & ~0x80) != 0) state[3]++;
    state[0] = (int32_t)r;
    state[1] = 0;
  }
  return int_result(env, n);
}






static void job_complete(napi_env env, napi_status status, void *data) {
  io_job *j = data;
  napi_value cb = NULL, recv, arg;
  napi_get_reference_value(env, j->cb, &cb);
  napi_get_undefined(env, &recv);
  napi_create_int32(env, status == napi_ok ? j->result : -1, &arg);
  for (int i = 0; i < j->nrefs; i++) napi_delete_reference(env, j->refs[i]);
  napi_delete_reference(env, j->cb);
  napi_delete_async_work(env, j->work);
  free(j);
  if (cb != NULL) napi_call_function(env, recv, cb, 1, &arg, NULL);
}

/* Keeps argv[i] alive for the job (typed arrays whose memory the worker uses). */
static int job_ref(napi_env env, io_job *j, napi_value v) {
  return napi_create_reference(env, v, 1, &j->refs[j->nrefs++]) == napi_ok;
}

static napi_value job_start(napi_env env, io_job *j, napi_value *arrays, int narrays, napi_value cb) {
  napi_valuetype t;
  napi_value name;
  if (napi_typeof(env, cb, &t) != napi_ok || t != napi_function) {
    free(j);
    return throw_type(env, "the last argument must be a callback");
  }
  for (int i = 0; i < narrays; i++) job_ref(env, j, arrays[i]);
  napi_create_reference(env, cb, 1, &j->cb);
  napi_create_string_utf8(env, "tsipsec:io", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, job_execute, job_complete, j, &j->work) != napi_ok || napi_queue_async_work(env, j->work) != napi_ok) {
    for (int i = 0; i < j->nrefs; i++) napi_delete_reference(env, j->refs[i]);
    napi_delete_reference(env, j->cb);
    free(j);
    return throw_type(env, "cannot queue the I/O job");
  }
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

static napi_value js_udp_send_batch_async(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  const char *usage = "udpSendBatchAsync(fd, buf, desc, count, addrs, gso, callback)";
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 7) return throw_type(env, usage);
  io_job *j = calloc(1, sizeof *j);
  if (j == NULL) return throw_type(env, "out of memory");
  if (!parse_udp_send(env, argv, 6, j)) {
    free(j);
    return throw_type(env, usage);
  }
  napi_value arrays[3] = {argv[1], argv[2], argv[4]};
  return job_start(env, j, arrays, 3, argv[6]);
}

static napi_value js_tun_write_async(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  const char *usage = "tunWriteAsync(fd, buf, desc, count, scratch | null, state | null, callback)";
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 7) return throw_type(env, usage);
  io_job *j = calloc(1, sizeof *j);
  if (j == NULL) return throw_type(env, "out of memory");
  if (!parse_tun_write(env, argv, 6, j)) {
    free(j);
    return throw_type(env, usage);
  }
  napi_value arrays[4] = {argv[1], argv[2], argv[4], argv[5]};
  return job_start(env, j, arrays, j->kind == JOB_TUN_WRITE_OFFLOAD ? 4 : 2, argv[6]);
}



static napi_value js_vnet_split(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  const char *usage = "vnetSplit(frame, frameLen, out, desc, state)";
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) return throw_type(env, usage);
  unsigned char *frame, *out;
  size_t frame_cap, out_len, desc_len, state_len;
  int32_t *desc, *state;
  int frame_len;
  if (!get_bytes(env, argv[0], &frame, &frame_cap) || !get_int(env, argv[1], &frame_len) || frame_len < 0 || (size_t)frame_len > frame_cap ||
      !get_bytes(env, argv[2], &out, &out_len) || !get_i32(env, argv[3], &desc, &desc_len) || !get_i32(env, argv[4], &state, &state_len) ||
      state_len < 2 || state[0] < 0)
    return throw_type(env, usage);
  size_t off = 0;
  int n = 0, next = state[0];
  state[1] = vnet_split(frame, (size_t)frame_len, &next, out, out_len, &off, desc, (int)(desc_len / 2), &n);
  state[0] = next;
  return int_result(env, n);
}

typedef struct {
  unsigned char *out;
  size_t cap, off;
  int32_t *desc;
  size_t desc_cap, n;
} collect_ctx;

static int collect_frame(void *c, const uint8_t *frame, size_t len, int packets) {
  collect_ctx *k = c;
  if (k->n >= k->desc_cap || len > k->cap - k->off) return 0;
  memcpy(k->out + k->off, frame, len);
  k->desc[3 * k->n] = (int32_t)k->off;
  k->desc[3 * k->n + 1] = (int32_t)len;
  k->desc[3 * k->n + 2] = packets;
  k->n++;
  k->off += len;
  return 1;
}

static napi_value js_vnet_coalesce(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  const char *usage = "vnetCoalesce(buf, desc, count, out, outDesc)";
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) return throw_type(env, usage);
  unsigned char *buf, *out;
  size_t buf_len, desc_len, out_len, odesc_len;
  int32_t *desc, *odesc;
  int count;
  if (!get_bytes(env, argv[0], &buf, &buf_len) || !get_i32(env, argv[1], &desc, &desc_len) || !get_int(env, argv[2], &count) || count < 0 ||
      (size_t)count > desc_len / 2 || !get_bytes(env, argv[3], &out, &out_len) || !get_i32(env, argv[4], &odesc, &odesc_len))
    return throw_type(env, usage);
  static uint8_t scratch[VNET_FRAME_MAX];
  collect_ctx k = {out, out_len, 0, odesc, odesc_len / 3, 0};
  vnet_coalesce(buf, buf_len, desc, count, scratch, collect_frame, &k);
  return int_result(env, (int)k.n);
}

static socklen_t sockaddr_length(const unsigned char *slot) {
  sa_family_t family;
  memcpy(&family, slot, sizeof family);
  if (family == AF_INET) return sizeof(struct sockaddr_in);
  if (family == AF_INET6) return sizeof(struct sockaddr_in6);
  return 0;
}

/* Once the kernel refused a UDP_SEGMENT message (no UDP GSO), every later batch sends plainly. */
static int gso_unsupported = 0;

/* The body of udpSendBatch: arguments already checked; safe on any thread (no N-API). */
static int udp_send_core(int fd, unsigned char *buf, size_t buf_len, int32_t *desc, int count, unsigned char *addrs, size_t addrs_len, int gso) {
  if (gso_unsupported) gso = 0;
  struct mmsghdr msgs[BATCH_CHUNK];
  struct iovec iovs[BATCH_CHUNK];
  int pindex[BATCH_CHUNK];          /* iovs[p] is packet pindex[p] */
  int mfirst[BATCH_CHUNK], mcount[BATCH_CHUNK]; /* msgs[k] carries iovs[mfirst[k] .. +mcount[k]] */
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } cmsgs[BATCH_CHUNK];
  int sent = 0, i = 0, blocked = 0;
  for (int j = 0; j < count; j++) desc[4 * j + 3] = 1;
  while (i < count && !blocked) {
    int k = 0, p = 0;
    int32_t group_len = 0, group_slot = -1, group_bytes = 0;
    for (; i < count && p < BATCH_CHUNK; i++) {
      int32_t off = desc[4 * i], len = desc[4 * i + 1], slot = desc[4 * i + 2];
      socklen_t alen = 0;
      if (slot >= 0 && (size_t)slot < addrs_len / ADDR_SLOT) alen = sockaddr_length(addrs + (size_t)slot * ADDR_SLOT);
      if (!in_bounds(off, len, buf_len) || alen == 0 || len == 0) {
        desc[4 * i + 3] = -EINVAL;
        group_slot = -1; /* a gap ends the group */
        continue;
      }
      iovs[p].iov_base = buf + off;
      iovs[p].iov_len = (size_t)len;
      pindex[p] = i;
      /*
       * UDP GSO (UDP_SEGMENT): consecutive datagrams to one destination, all of the first one's
       * size except possibly a shorter last, leave as one message the kernel splits late. A group
       * ends at a different destination or size, after a short datagram, at GSO_MAX_SEGMENTS, or
       * before 64 KiB.
       */
      if (gso && k > 0 && slot == group_slot && len <= group_len && mcount[k - 1] < GSO_MAX_SEGMENTS &&
          group_bytes + len <= GSO_MAX_BYTES) {
        mcount[k - 1]++;
        group_bytes += len;
        msgs[k - 1].msg_hdr.msg_iovlen++;
        if (len < group_len) group_slot = -1; /* only the last segment may be shorter */
        p++;
        continue;
      }
      memset(&msgs[k], 0, sizeof msgs[k]);
      msgs[k].msg_hdr.msg_name = addrs + (size_t)slot * ADDR_SLOT;
      msgs[k].msg_hdr.msg_namelen = alen;
      msgs[k].msg_hdr.msg_iov = &iovs[p];
      msgs[k].msg_hdr.msg_iovlen = 1;
      mfirst[k] = p;
      mcount[k] = 1;
      group_slot = slot;
      group_len = len;
      group_bytes = len;
      k++;
      p++;
    }
    for (int m = 0; m < k; m++) {
      if (mcount[m] < 2) continue;
      struct msghdr *h = &msgs[m].msg_hdr;
      h->msg_control = cmsgs[m].buf;
      h->msg_controllen = sizeof cmsgs[m].buf;
      struct cmsghdr *c = CMSG_FIRSTHDR(h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t seg = (uint16_t)iovs[mfirst[m]].iov_len;
      memcpy(CMSG_DATA(c), &seg, sizeof seg);
    }
    int done = 0;
    while (done < k) {
      int r = sendmmsg(fd, msgs + done, (unsigned int)(k - done), MSG_DONTWAIT);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
          /* The rest stays "not attempted" (status 1), including the packets not yet gathered. */
          blocked = 1;
          break;
        }
        int e = errno;
        if (mcount[done] > 1 && (e == EIO || e == EINVAL || e == ENOPROTOOPT || e == EOPNOTSUPP)) {
          /* No UDP GSO here (or not for this route): stop using it; these stay "not attempted". */
          gso_unsupported = 1;
          blocked = 1;
          break;
        }
        /* sendmmsg reports an error only for the first message of the call: skip that one. */
        for (int q = 0; q < mcount[done]; q++) desc[4 * pindex[mfirst[done] + q] + 3] = -e;
        done++;
        continue;
      }
      for (int m = done; m < done + r; m++) {
        for (int q = 0; q < mcount[m]; q++) desc[4 * pindex[mfirst[m] + q] + 3] = 0;
        sent += mcount[m];
      }
      done += r;
    }
  }
  return sent;
}


#ifndef UDP_GRO
#define UDP_GRO 104
#endif

static napi_value js_udp_set_gro(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int fd, on;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &on))
    return throw_type(env, "udpSetGro(fd, on)");
  return int_result(env, setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) < 0 ? -errno : 0);
}

static napi_value js_udp_recv_batch(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  const char *usage = "udpRecvBatch(fd, buf, slotBytes, desc, addrs, maxPackets, segs?)";
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6) return throw_type(env, usage);
  int fd, slot_bytes, max_packets;
  unsigned char *buf, *addrs;
  size_t buf_len, desc_len, addrs_len, segs_len = 0;
  int32_t *desc, *segs = NULL;
  if (!get_int(env, argv[0], &fd) || !get_bytes(env, argv[1], &buf, &buf_len) || !get_int(env, argv[2], &slot_bytes) || slot_bytes <= 0 ||
      !get_i32(env, argv[3], &desc, &desc_len) || !get_bytes(env, argv[4], &addrs, &addrs_len) || !get_int(env, argv[5], &max_packets) || max_packets < 0)
    return throw_type(env, usage);
  if (argc >= 7) {
    napi_valuetype t;
    if (napi_typeof(env, argv[6], &t) != napi_ok) return throw_type(env, usage);
    if (t != napi_undefined && !get_i32(env, argv[6], &segs, &segs_len)) return throw_type(env, usage);
  }
  size_t cap = buf_len / (size_t)slot_bytes;
  if (cap > desc_len / 2) cap = desc_len / 2;
  if (cap > addrs_len / ADDR_SLOT) cap = addrs_len / ADDR_SLOT;
  if (segs != NULL && cap > segs_len) cap = segs_len;
  if (cap > BATCH_CHUNK) cap = BATCH_CHUNK;
  if ((size_t)max_packets < cap) cap = (size_t)max_packets;
  if (cap == 0) return int_result(env, 0);
  struct mmsghdr msgs[BATCH_CHUNK];
  struct iovec iovs[BATCH_CHUNK];
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } cmsgs[BATCH_CHUNK];
  memset(msgs, 0, sizeof(struct mmsghdr) * cap);
  for (size_t k = 0; k < cap; k++) {
    iovs[k].iov_base = buf + k * (size_t)slot_bytes;
    iovs[k].iov_len = (size_t)slot_bytes;
    msgs[k].msg_hdr.msg_iov = &iovs[k];
    msgs[k].msg_hdr.msg_iovlen = 1;
    msgs[k].msg_hdr.msg_name = addrs + k * ADDR_SLOT;
    msgs[k].msg_hdr.msg_namelen = ADDR_SLOT;
    if (segs != NULL) {
      /* UDP GRO (udpSetGro): a coalesced datagram carries its segment size in a UDP_GRO cmsg. */
      msgs[k].msg_hdr.msg_control = cmsgs[k].buf;
      msgs[k].msg_hdr.msg_controllen = sizeof cmsgs[k].buf;
    }
  }
  int r;
  do r = recvmmsg(fd, msgs, (unsigned int)cap, MSG_DONTWAIT, NULL);
  while (r < 0 && errno == EINTR);
  if (r < 0) return int_result(env, (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno);
  for (int k = 0; k < r; k++) {
    desc[2 * k] = (int32_t)msgs[k].msg_len;
    desc[2 * k + 1] = (msgs[k].msg_hdr.msg_flags & MSG_TRUNC) ? 1 : 0;
    if (segs == NULL) continue;
    segs[k] = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[k].msg_hdr); c != NULL; c = CMSG_NXTHDR(&msgs[k].msg_hdr, c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
        int seg;
        memcpy(&seg, CMSG_DATA(c), sizeof seg);
        segs[k] = seg;
      }
    }
  }
  return int_result(env, r);
}

static napi_value js_dup_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !get_int(env, argv[0], &fd)) return throw_type(env, "dupFd(fd)");
  int r = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return int_result(env, r < 0 ? -errno : r);
}

static napi_value js_close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !get_int(env, argv[0], &fd)) return throw_type(env, "closeFd(fd)");
  return int_result(env, close(fd) < 0 ? -errno : 0);
}

napi_status tsipsec_register_batch_io(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"tunReadBatch", NULL, js_tun_read_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tunWriteBatch", NULL, js_tun_write_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpSendBatch", NULL, js_udp_send_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpRecvBatch", NULL, js_udp_recv_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpSendBatchAsync", NULL, js_udp_send_batch_async, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tunWriteAsync", NULL, js_tun_write_async, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpSetGro", NULL, js_udp_set_gro, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tunSetOffload", NULL, js_tun_set_offload, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tunReadOffload", NULL, js_tun_read_offload, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tunWriteOffload", NULL, js_tun_write_offload, NULL, NULL, NULL, napi_enumerable, NULL},
      {"vnetSplit", NULL, js_vnet_split, NULL, NULL, NULL, napi_enumerable, NULL},
      {"vnetCoalesce", NULL, js_vnet_coalesce, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dupFd", NULL, js_dup_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeFd", NULL, js_close_fd, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
