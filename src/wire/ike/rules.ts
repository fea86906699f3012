/**
 * Which payloads each exchange may and must carry, per direction (RFC 7296 s1.2-1.5, s2.16,
 * s3; RFC 7383 for SKF; RFC 9242 IKE_INTERMEDIATE; RFC 9370 IKE_FOLLOWUP_KE; RFC 5723
 * IKE_SESSION_RESUME), as data, and a checker that reports what a message breaks.
 *
 * Theory of operation: the engine calls {@link checkPayloadRules} twice for a protected
 * exchange: on the clear chain (which must then be SK or SKF, last) and, after decryption, on
 * the inner chain. A clear chain without SK/SKF is checked against the exchange's table.
 *
 * Each table entry lists the allowed payload types, the types that may repeat, and
 * `requiredAnyOf`: alternatives, at least one of which must be fully present. Alternatives
 * keep the rules as permissive as the RFC is: an IKE_SA_INIT response is either SA, KE, Nr or
 * an error/COOKIE response carrying only N (s1.2, s2.6); an IKE_AUTH request is either the
 * first one (IDi) or an EAP continuation (EAP, then AUTH, s2.16); `together` groups must be
 * all present or all absent (SA, TSi, TSr: a childless IKE_AUTH, RFC 6023, carries none).
 *
 * Problems map to notifies (s2.5, s3.10.1): an unknown payload with the C bit set gives
 * UNSUPPORTED_CRITICAL_PAYLOAD naming its type; unknown non-critical payloads are skipped;
 * anything else (missing, duplicated, unexpected) gives INVALID_SYNTAX.
 */
import { ExchangeType, NotifyType, PayloadType, payloadTypeName } from "./constants.js";
import { payloadTypeOf } from "./payload.js";
import type { Payload } from "./types.js";

/** The rules for one exchange in one direction. */
export interface PayloadRule {
  /** Payload types that may appear (unknown non-critical payloads are always tolerated). */
  readonly allowed: ReadonlySet<number>;
  /** Types that may appear more than once; any other allowed type at most once. */
  readonly repeatable: ReadonlySet<number>;
  /** At least one of these sets must be fully present (empty list: nothing is required). */
  readonly requiredAnyOf: readonly (readonly number[])[];
  /** Each group must be all present or all absent. */
  readonly together: readonly (readonly number[])[];
}

/** Rules for an exchange: the request and the response direction. */
export interface ExchangeRules {
  readonly request: PayloadRule;
  readonly response: PayloadRule;
  /** True when the exchange runs under SK (every exchange after IKE_SA_INIT, s1.2). */
  readonly protected: boolean;
}

/** One thing a payload list breaks, and the notify that reports it. */
export interface PayloadRuleProblem {
  kind: "unsupportedCritical" | "missing" | "duplicate" | "unexpected";
  /** NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD (1) or NotifyType.INVALID_SYNTAX (7). */
  notifyType: number;
  /** The payload type concerned (for UNSUPPORTED_CRITICAL_PAYLOAD, the notify's data octet). */
  payloadType: number | undefined;
  /** Human-readable, for logs; never contains payload contents. */
  reason: string;
}

const P = PayloadType;
const set = (...xs: number[]): ReadonlySet<number> => new Set(xs);

/** Notify and Vendor ID may always repeat; so may CERT, CERTREQ and Delete. */
const REPEATABLE = set(P.NOTIFY, P.VENDOR_ID, P.CERT, P.CERTREQ, P.DELETE);

function rule(allowed: number[], requiredAnyOf: number[][] = [], together: number[][] = []): PayloadRule {
  return { allowed: set(...allowed), repeatable: REPEATABLE, requiredAnyOf, together };
}

/**
 * The tables (inner payloads for protected exchanges). Exchange types not listed here (GSA_*,
 * unassigned) have no table: only the critical-payload check applies.
 */
export const EXCHANGE_RULES: ReadonlyMap<number, ExchangeRules> = new Map<number, ExchangeRules>([
  // s1.2: HDR, SA, KE, Ni [, N+][, V+] -->   <-- HDR, SA, KE, Nr, [CERTREQ,] [N+,] [V+]
  // s1.2/2.6/2.7: a request resent with N(COOKIE) first; error responses carry only N.
  [ExchangeType.IKE_SA_INIT, {
    protected: false,
    request: rule([P.SA, P.KE, P.NONCE, P.NOTIFY, P.VENDOR_ID], [[P.SA, P.KE, P.NONCE]]),
    response: rule([P.SA, P.KE, P.NONCE, P.CERTREQ, P.NOTIFY, P.VENDOR_ID], [[P.SA, P.KE, P.NONCE], [P.NOTIFY]]),
  }],
  // s1.2, s2.16 (EAP), RFC 4739 (multiple auth), RFC 6023 (childless):
  // SK {IDi, [CERT+,] [CERTREQ+,] [IDr,] AUTH, [CP,] [N+,] SA, TSi, TSr} -->
  // SK {EAP} / SK {AUTH} continuation requests.
  [ExchangeType.IKE_AUTH, {
    protected: true,
    request: rule(
      [P.IDi, P.CERT, P.CERTREQ, P.IDr, P.AUTH, P.CP, P.SA, P.TSi, P.TSr, P.NOTIFY, P.VENDOR_ID, P.EAP],
      [[P.IDi], [P.EAP], [P.AUTH]],
      [[P.SA, P.TSi, P.TSr]],
    ),
    // <-- SK {IDr, [CERT+,] AUTH, [CP,] [N+,] SA, TSi, TSr}; SK {IDr, [CERT+,] AUTH, EAP};
    //     SK {EAP}; SK {AUTH, SA, TSi, TSr}; SK {N(AUTHENTICATION_FAILED)} (s2.21.2).
    response: rule(
      [P.IDr, P.CERT, P.AUTH, P.CP, P.SA, P.TSi, P.TSr, P.NOTIFY, P.VENDOR_ID, P.EAP],
      [[P.AUTH], [P.EAP], [P.NOTIFY]],
      [[P.SA, P.TSi, P.TSr]],
    ),
  }],
  // s1.3: SK {[N(REKEY_SA)], [N+], SA, Ni, [KEi], [TSi, TSr]} -->
  //   <-- SK {SA, Nr, [KEr], [TSi, TSr]} or an error response with only N (s1.3, s2.21.3).
  [ExchangeType.CREATE_CHILD_SA, {
    protected: true,
    request: rule([P.SA, P.NONCE, P.KE, P.TSi, P.TSr, P.NOTIFY, P.VENDOR_ID], [[P.SA, P.NONCE]], [[P.TSi, P.TSr]]),
    response: rule([P.SA, P.NONCE, P.KE, P.TSi, P.TSr, P.NOTIFY, P.VENDOR_ID], [[P.SA, P.NONCE], [P.NOTIFY]], [[P.TSi, P.TSr]]),
  }],
  // s1.4: SK {[N,] [D,] [CP,] ...}; an empty one is a liveness check (s2.4).
  [ExchangeType.INFORMATIONAL, {
    protected: true,
    request: rule([P.NOTIFY, P.DELETE, P.CP, P.VENDOR_ID]),
    response: rule([P.NOTIFY, P.DELETE, P.CP, P.VENDOR_ID]),
  }],
  // RFC 9242 s3: contents defined by the extensions using it (RFC 9370: KE and N).
  [ExchangeType.IKE_INTERMEDIATE, {
    protected: true,
    request: rule([P.KE, P.NOTIFY, P.VENDOR_ID]),
    response: rule([P.KE, P.NOTIFY, P.VENDOR_ID]),
  }],
  // RFC 9370 s2.2.4: SK {KEi(n), N(ADDITIONAL_KEY_EXCHANGE)} --> <-- SK {KEr(n)} or N only.
  [ExchangeType.IKE_FOLLOWUP_KE, {
    protected: true,
    request: rule([P.KE, P.NOTIFY], [[P.KE]]),
    response: rule([P.KE, P.NOTIFY], [[P.KE], [P.NOTIFY]]),
  }],
  // RFC 5723 s4.3.1: Ni, N(TICKET_OPAQUE) [, N+] -->  <-- Nr [, N+] (in the clear, like IKE_SA_INIT).
  [ExchangeType.IKE_SESSION_RESUME, {
    protected: false,
    request: rule([P.NONCE, P.NOTIFY, P.VENDOR_ID], [[P.NONCE, P.NOTIFY]]),
    response: rule([P.NONCE, P.NOTIFY, P.VENDOR_ID], [[P.NONCE], [P.NOTIFY]]),
  }],
]);

const name = (t: number): string => payloadTypeName(t);

function problem(kind: PayloadRuleProblem["kind"], payloadType: number | undefined, reason: string): PayloadRuleProblem {
  return {
    kind,
    notifyType: kind === "unsupportedCritical" ? NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD : NotifyType.INVALID_SYNTAX,
    payloadType,
    reason,
  };
}

/**
 * Checks a payload list against the rules of `exchangeType` in one direction. Returns every
 * problem found, UNSUPPORTED_CRITICAL_PAYLOAD ones first (s2.5: they are reported before
 * anything else); an empty list means the message is acceptable.
 *
 * A list containing SK or SKF is a protected message's clear chain: SK/SKF must be its last
 * payload, the exchange must be a protected one, and its inner payloads are checked with a
 * second call after decryption. Whether a clear chain without SK/SKF should have had one is
 * {@link missingProtection}'s question (this function is also called on inner chains).
 */
export function checkPayloadRules(exchangeType: number, isResponse: boolean, payloads: readonly Payload[]): PayloadRuleProblem[] {
  const critical: PayloadRuleProblem[] = [];
  const others: PayloadRuleProblem[] = [];
  for (const p of payloads) {
    if (p.type === "unknown" && p.critical) {
      critical.push(problem("unsupportedCritical", p.payloadType, `unsupported critical payload ${name(p.payloadType)}`));
    }
  }
  const known = payloads.filter((p) => p.type !== "unknown");
  const types = known.map(payloadTypeOf);
  const rules = EXCHANGE_RULES.get(exchangeType);

  const encryptedAt = types.findIndex((t) => t === P.SK || t === P.SKF);
  if (encryptedAt >= 0) {
    if (payloads[payloads.length - 1] !== known[encryptedAt]) {
      others.push(problem("unexpected", types[encryptedAt], `${name(types[encryptedAt] ?? 0)} is not the last payload`));
    }
    if (types.filter((t) => t === P.SK || t === P.SKF).length > 1) {
      others.push(problem("duplicate", types[encryptedAt], "more than one SK/SKF payload"));
    }
    if (rules && !rules.protected) {
      others.push(problem("unexpected", types[encryptedAt], `${name(types[encryptedAt] ?? 0)} in an unprotected exchange`));
    }
    return [...critical, ...others];
  }
  if (!rules) return critical;
  const rule = isResponse ? rules.response : rules.request;

  const counts = new Map<number, number>();
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
  for (const [t, n] of counts) {
    if (!rule.allowed.has(t)) {
      others.push(problem("unexpected", t, `${name(t)} is not allowed here`));
    } else if (n > 1 && !rule.repeatable.has(t)) {
      others.push(problem("duplicate", t, `${name(t)} appears ${n} times`));
    }
  }
  if (rule.requiredAnyOf.length > 0 && !rule.requiredAnyOf.some((alt) => alt.every((t) => counts.has(t)))) {
    const best = rule.requiredAnyOf[0] ?? [];
    for (const t of best) {
      if (!counts.has(t)) others.push(problem("missing", t, `${name(t)} is missing`));
    }
  }
  for (const group of rule.together) {
    const present = group.filter((t) => counts.has(t));
    if (present.length > 0 && present.length < group.length) {
      for (const t of group) {
        if (!counts.has(t)) others.push(problem("missing", t, `${name(t)} is missing (needed with ${present.map(name).join(", ")})`));
      }
    }
  }
  return [...critical, ...others];
}

/**
 * True when a clear (outer) payload chain lacks the SK/SKF its exchange needs: every exchange
 * but IKE_SA_INIT and IKE_SESSION_RESUME runs under SK (s1.2), except that an INFORMATIONAL
 * made only of notifies may be sent unprotected (s1.5: INVALID_IKE_SPI, INVALID_MAJOR_VERSION).
 * The engine treats such a message as INVALID_SYNTAX or drops it.
 */
export function missingProtection(exchangeType: number, clearPayloads: readonly Payload[]): boolean {
  const rules = EXCHANGE_RULES.get(exchangeType);
  if (!rules || !rules.protected) return false;
  const types = clearPayloads.map(payloadTypeOf);
  if (types.includes(P.SK) || types.includes(P.SKF)) return false;
  const notifyOnly = types.length > 0 && types.every((t) => t === P.NOTIFY);
  return !(exchangeType === ExchangeType.INFORMATIONAL && notifyOnly);
}
