/*
 * tsipsec native fast path: virtio-net offloads on the TUN device (IFF_VNET_HDR).
 *
 * Pure packet logic, no system calls, no N-API: batch_io.c calls it around its TUN reads and
 * writes, and exports thin wrappers for the unit tests.
 *
 * A frame is a struct virtio_net_hdr (10 bytes, host byte order: the TUN's legacy little-endian
 * virtio header on the ABIs Node runs on) followed by one IP packet.
 */
#ifndef TSIPSEC_TUN_OFFLOAD_H
#define TSIPSEC_TUN_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

#define VNET_HDR_LEN 10
/* The largest frame a TUN read returns with TSO enabled: a 64 KiB IP packet plus the header. */
#define VNET_FRAME_MAX (65535 + VNET_HDR_LEN)
/* Segments per coalesced frame at most (kernel GRO stops at 64 too). */
#define GRO_MAX_SEGMENTS 64

/*
 * Emits the IP packets of one frame read from the TUN into `out`, starting at segment `*next`:
 *   - no GSO: the packet itself, its checksum completed when the frame says NEEDS_CSUM
 *     (TUN_F_CSUM: the kernel leaves the L4 checksum to us);
 *   - GSO TCPV4/TCPV6 (TSO): one TCP segment per gso_size bytes of payload, with IPv4 total
 *     length, ID (+1 per segment) and header checksum, IPv6 payload length, TCP sequence number,
 *     flags (FIN/PSH on the last segment only, CWR on the first only) and checksum of each.
 * Packets go at 8-byte aligned offsets from *out_off (updated); desc[2k], desc[2k+1] = offset,
 * length for k = *count.. (updated, at most desc_cap).
 * Returns 1 when every segment was emitted, 0 when `out` or `desc` ran out of room first (call
 * again with the same frame and *next), -1 when the frame is malformed (dropped: too short, an
 * unknown gso_type, a GSO frame that is not plain IPv4/IPv6 + TCP, a checksum offset outside it,
 * longer than VNET_FRAME_MAX, or a GSO frame with *next < 0).
 */
int vnet_split(const uint8_t *frame, size_t frame_len, int *next, uint8_t *out, size_t out_cap, size_t *out_off, int32_t *desc,
               int desc_cap, int *count);

/*
 * Receives each frame built by vnet_coalesce: `frame` (header + packet), its length, and how
 * many of the input packets it carries. Returns nonzero to go on, 0 to stop.
 */
typedef int (*vnet_sink)(void *ctx, const uint8_t *frame, size_t len, int packets);

/*
 * Groups consecutive packets of desc[2i], desc[2i+1] (offset, length in buf) into frames for a
 * TUN write: runs of in-order TCP segments of one flow (same addresses, ports, IP TOS/TTL/flags,
 * TCP header length and options, ACK number and window; flags ACK, PSH only on the last;
 * equal payload sizes but for a shorter last; IPv4 IDs consecutive) become one GSO frame
 * (TSO in reverse, as Linux GRO builds them: gso_size = the first payload, checksum left to the
 * kernel through NEEDS_CSUM with the pseudo-header sum in place); every other packet gets a
 * header without GSO. `scratch` holds one frame (VNET_FRAME_MAX bytes). Packets outside buf
 * are skipped. Returns the number of frames handed to `sink`.
 */
int vnet_coalesce(const uint8_t *buf, size_t buf_len, const int32_t *desc, int count, uint8_t *scratch, vnet_sink sink, void *ctx);

#endif
