/**
 * Small constructors for the payloads the engine sends (RFC 7296 s3), so exchange code reads like
 * the RFC's `HDR, SAi1, KEi, Ni` notation instead of object literals. Reserved fields are zero.
 */
import { NotifyType, ProtocolId } from "../wire/ike/constants.js";
import type { Payload, PayloadOf, Proposal, TrafficSelector } from "../wire/ike/types.js";

const R3 = (): Uint8Array => new Uint8Array(3);

export function notify(notifyType: number, data: Uint8Array = new Uint8Array(0), protocol = 0, spi: Uint8Array = new Uint8Array(0)): PayloadOf<41> {
  return { type: 41, critical: false, protocol, notifyType, spi, data };
}

export function saPayload(proposals: Proposal[]): PayloadOf<33> {
  return { type: 33, critical: false, proposals };
}

export function kePayload(group: number, keyData: Uint8Array): PayloadOf<34> {
  return { type: 34, critical: false, group, reserved: 0, keyData };
}

export function noncePayload(nonce: Uint8Array): PayloadOf<40> {
  return { type: 40, critical: false, nonce };
}

export function idPayload(type: 35 | 36, idType: number, data: Uint8Array): Payload {
  return { type, critical: false, idType, reserved: R3(), data };
}

export function authPayload(method: number, data: Uint8Array): PayloadOf<39> {
  return { type: 39, critical: false, method, reserved: R3(), data };
}

export function tsPayload(type: 44 | 45, selectors: TrafficSelector[]): Payload {
  return { type, critical: false, selectors, reserved: R3() };
}

/** Delete payload for ESP SPIs (4 bytes each, s3.11). */
export function deleteEsp(spis: number[]): PayloadOf<42> {
  return { type: 42, critical: false, protocol: ProtocolId.ESP, spiSize: 4, spis: spis.map(spi4) };
}

/** Delete payload for the IKE SA itself (protocol IKE, no SPIs: the header names it, s3.11). */
export function deleteIke(): PayloadOf<42> {
  return { type: 42, critical: false, protocol: ProtocolId.IKE, spiSize: 0, spis: [] };
}

/** A 32-bit SPI in network order. */
export function spi4(spi: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, spi >>> 0);
  return b;
}

/** A 64-bit IKE SPI in network order. */
export function spi8(spi: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, spi));
  return b;
}

export function readSpi4(b: Uint8Array): number | undefined {
  return b.length === 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0) : undefined;
}

export function readSpi8(b: Uint8Array): bigint | undefined {
  return b.length === 8 ? new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0) : undefined;
}

/** REKEY_SA notify naming the ESP SA being rekeyed by its inbound SPI at the sender (s2.8). */
export function rekeySaNotify(spi: number): PayloadOf<41> {
  return notify(NotifyType.REKEY_SA, new Uint8Array(0), ProtocolId.ESP, spi4(spi));
}

/** A 16-bit value (INVALID_KE_PAYLOAD's group, s3.10.1). */
export function u16(v: number): Uint8Array {
  return new Uint8Array([(v >>> 8) & 0xff, v & 0xff]);
}
