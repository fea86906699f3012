/**
 * Typed look-ups over a decoded payload list, so handlers do not repeat `filter` + casts.
 */
import type { Payload, PayloadOf } from "./types.js";

type Known = Exclude<Payload["type"], "unknown">;

/**
 * The payload value for one wire type. Unlike `PayloadOf<35>` (never, because IDi and IDr
 * share one union member typed `35 | 36`), this narrows shared members too.
 */
export type PayloadWithType<T extends Known> = Narrow<Payload, T>;
type Narrow<P, T> = P extends { type: infer U } ? (T extends U ? P & { type: T } : never) : never;

/** The first payload of `type`, or undefined. */
export function findPayload<T extends Known>(payloads: readonly Payload[], type: T): PayloadWithType<T> | undefined {
  return payloads.find((p): p is PayloadWithType<T> => p.type === type);
}

/** Every payload of `type`, in message order. */
export function findPayloads<T extends Known>(payloads: readonly Payload[], type: T): PayloadWithType<T>[] {
  return payloads.filter((p): p is PayloadWithType<T> => p.type === type);
}

/** Every Notify payload, in message order. */
export function notifies(payloads: readonly Payload[]): PayloadOf<41>[] {
  return findPayloads(payloads, 41);
}

/** The first Notify of the given Notify Message Type, or undefined. */
export function findNotify(payloads: readonly Payload[], notifyType: number): PayloadOf<41> | undefined {
  return payloads.find((p): p is PayloadOf<41> => p.type === 41 && p.notifyType === notifyType);
}

/** Every Notify of the given type (e.g. several N(ADDITIONAL_IP4_ADDRESS)). */
export function findNotifies(payloads: readonly Payload[], notifyType: number): PayloadOf<41>[] {
  return payloads.filter((p): p is PayloadOf<41> => p.type === 41 && p.notifyType === notifyType);
}

/** Error notifies (type < 16384, RFC 7296 s3.10.1), in message order. */
export function errorNotifies(payloads: readonly Payload[]): PayloadOf<41>[] {
  return payloads.filter((p): p is PayloadOf<41> => p.type === 41 && p.notifyType < 16384);
}

export const getSa = (ps: readonly Payload[]): PayloadOf<33> | undefined => findPayload(ps, 33);
export const getKe = (ps: readonly Payload[]): PayloadOf<34> | undefined => findPayload(ps, 34);
export const getIdi = (ps: readonly Payload[]): PayloadWithType<35> | undefined => findPayload(ps, 35);
export const getIdr = (ps: readonly Payload[]): PayloadWithType<36> | undefined => findPayload(ps, 36);
export const getAuth = (ps: readonly Payload[]): PayloadOf<39> | undefined => findPayload(ps, 39);
export const getNonce = (ps: readonly Payload[]): PayloadOf<40> | undefined => findPayload(ps, 40);
export const getTsi = (ps: readonly Payload[]): PayloadWithType<44> | undefined => findPayload(ps, 44);
export const getTsr = (ps: readonly Payload[]): PayloadWithType<45> | undefined => findPayload(ps, 45);
export const getSk = (ps: readonly Payload[]): PayloadOf<46> | undefined => findPayload(ps, 46);
export const getSkf = (ps: readonly Payload[]): PayloadOf<53> | undefined => findPayload(ps, 53);
export const getCp = (ps: readonly Payload[]): PayloadOf<47> | undefined => findPayload(ps, 47);
