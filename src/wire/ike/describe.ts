/**
 * One-line summaries of IKE messages for logs, in strongSwan's style:
 * `IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) ]`.
 *
 * Payloads use strongSwan's short names (No for Nonce, E for SK, EF(n/total) for SKF, D, V,
 * CPRQ(ADDR DNS)/CPRP/CPS/CPA); notify types use its abbreviations where it has one and the IANA name
 * otherwise; values no table knows print as `NOTIFY(40961)`, `PAYLOAD(200)`, `EXCHANGE(99)`.
 * Nothing secret is printed: only types, never payload contents.
 */
import { CfgAttribute, cfgAttributeName, CfgType, cfgTypeName, exchangeTypeName, NotifyType, notifyTypeName, payloadTypeName } from "./constants.js";
import { isResponse } from "./header.js";
import type { IkeMessage, Payload } from "./types.js";

/** strongSwan's short notify names (notify_type_short_names in libcharon). */
const NOTIFY_SHORT: ReadonlyMap<number, string> = new Map([
  [NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, "UNSUPP_CRIT"],
  [NotifyType.INVALID_IKE_SPI, "INVAL_IKE_SPI"],
  [NotifyType.INVALID_MAJOR_VERSION, "INVAL_MAJOR"],
  [NotifyType.INVALID_SYNTAX, "INVAL_SYN"],
  [NotifyType.INVALID_MESSAGE_ID, "INVAL_MID"],
  [NotifyType.INVALID_SPI, "INVAL_SPI"],
  [NotifyType.NO_PROPOSAL_CHOSEN, "NO_PROP"],
  [NotifyType.INVALID_KE_PAYLOAD, "INVAL_KE"],
  [NotifyType.AUTHENTICATION_FAILED, "AUTH_FAILED"],
  [NotifyType.SINGLE_PAIR_REQUIRED, "SINGLE_PAIR"],
  [NotifyType.NO_ADDITIONAL_SAS, "NO_ADD_SAS"],
  [NotifyType.INTERNAL_ADDRESS_FAILURE, "INT_ADDR_FAIL"],
  [NotifyType.FAILED_CP_REQUIRED, "FAIL_CP_REQ"],
  [NotifyType.TS_UNACCEPTABLE, "TS_UNACCEPT"],
  [NotifyType.INVALID_SELECTORS, "INVAL_SEL"],
  [NotifyType.TEMPORARY_FAILURE, "TEMP_FAIL"],
  [NotifyType.CHILD_SA_NOT_FOUND, "NO_CHILD_SA"],
  [NotifyType.INITIAL_CONTACT, "INIT_CONTACT"],
  [NotifyType.SET_WINDOW_SIZE, "SET_WINSIZE"],
  [NotifyType.ADDITIONAL_TS_POSSIBLE, "ADD_TS_POSS"],
  [NotifyType.IPCOMP_SUPPORTED, "IPCOMP_SUP"],
  [NotifyType.NAT_DETECTION_SOURCE_IP, "NATD_S_IP"],
  [NotifyType.NAT_DETECTION_DESTINATION_IP, "NATD_D_IP"],
  [NotifyType.USE_TRANSPORT_MODE, "USE_TRANSP"],
  [NotifyType.HTTP_CERT_LOOKUP_SUPPORTED, "HTTP_CERT_LOOK"],
  [NotifyType.ESP_TFC_PADDING_NOT_SUPPORTED, "ESP_TFC_PAD_N"],
  [NotifyType.NON_FIRST_FRAGMENTS_ALSO, "NON_FIRST_FRAG"],
  [NotifyType.MOBIKE_SUPPORTED, "MOBIKE_SUP"],
  [NotifyType.ADDITIONAL_IP4_ADDRESS, "ADD_4_ADDR"],
  [NotifyType.ADDITIONAL_IP6_ADDRESS, "ADD_6_ADDR"],
  [NotifyType.NO_ADDITIONAL_ADDRESSES, "NO_ADD_ADDR"],
  [NotifyType.UPDATE_SA_ADDRESSES, "UPD_SA_ADDR"],
  [NotifyType.NO_NATS_ALLOWED, "NO_NATS"],
  [NotifyType.AUTH_LIFETIME, "AUTH_LFT"],
  [NotifyType.MULTIPLE_AUTH_SUPPORTED, "MULT_AUTH"],
  [NotifyType.ANOTHER_AUTH_FOLLOWS, "AUTH_FOLLOWS"],
  [NotifyType.REDIRECT_SUPPORTED, "REDIR_SUP"],
  [NotifyType.REDIRECT, "REDIR"],
  [NotifyType.REDIRECTED_FROM, "REDIR_FROM"],
  [NotifyType.EAP_ONLY_AUTHENTICATION, "EAP_ONLY"],
  [NotifyType.CHILDLESS_IKEV2_SUPPORTED, "CHDLESS_SUP"],
  [NotifyType.IKEV2_FRAGMENTATION_SUPPORTED, "FRAG_SUP"],
  [NotifyType.SIGNATURE_HASH_ALGORITHMS, "HASH_ALG"],
  [NotifyType.INTERMEDIATE_EXCHANGE_SUPPORTED, "IKE_INT_SUP"],
  [NotifyType.PPK_IDENTITY, "PPK_ID"],
  [NotifyType.ADDITIONAL_KEY_EXCHANGE, "ADD_KE"],
]);

/** The short notify name strongSwan logs, else the IANA name, else `NOTIFY(n)`. */
export function notifyShortName(type: number): string {
  return NOTIFY_SHORT.get(type) ?? notifyTypeName(type);
}

const CP_SHORT: ReadonlyMap<number, string> = new Map([
  [CfgType.CFG_REQUEST, "CPRQ"],
  [CfgType.CFG_REPLY, "CPRP"],
  [CfgType.CFG_SET, "CPS"],
  [CfgType.CFG_ACK, "CPA"],
]);

/** strongSwan's short configuration attribute names, as in `CPRQ(ADDR DNS)`. */
const CFG_ATTRIBUTE_SHORT: ReadonlyMap<number, string> = new Map([
  [CfgAttribute.INTERNAL_IP4_ADDRESS, "ADDR"],
  [CfgAttribute.INTERNAL_IP4_NETMASK, "MASK"],
  [CfgAttribute.INTERNAL_IP4_DNS, "DNS"],
  [CfgAttribute.INTERNAL_IP4_NBNS, "NBNS"],
  [CfgAttribute.INTERNAL_IP4_DHCP, "DHCP"],
  [CfgAttribute.APPLICATION_VERSION, "VER"],
  [CfgAttribute.INTERNAL_IP6_ADDRESS, "ADDR6"],
  [CfgAttribute.INTERNAL_IP6_DNS, "DNS6"],
  [CfgAttribute.INTERNAL_IP6_DHCP, "DHCP6"],
  [CfgAttribute.INTERNAL_IP4_SUBNET, "SUBNET"],
  [CfgAttribute.SUPPORTED_ATTRIBUTES, "SUP"],
  [CfgAttribute.INTERNAL_IP6_SUBNET, "SUBNET6"],
]);

/** The short label of one payload, e.g. `No`, `N(NATD_S_IP)`, `EF(1/3)`. */
export function describePayload(p: Payload): string {
  switch (p.type) {
    case 33: return "SA";
    case 34: return "KE";
    case 35: return "IDi";
    case 36: return "IDr";
    case 37: return "CERT";
    case 38: return "CERTREQ";
    case 39: return "AUTH";
    case 40: return "No";
    case 41: return `N(${notifyShortName(p.notifyType)})`;
    case 42: return "D";
    case 43: return "V";
    case 44: return "TSi";
    case 45: return "TSr";
    case 46: return "E";
    case 47: {
      const kind = CP_SHORT.get(p.cfgType) ?? cfgTypeName(p.cfgType);
      const attrs = p.attributes.map((a) => CFG_ATTRIBUTE_SHORT.get(a.type) ?? cfgAttributeName(a.type));
      return attrs.length > 0 ? `${kind}(${attrs.join(" ")})` : kind;
    }
    case 48: return "EAP";
    case 53: return `EF(${p.fragmentNumber}/${p.totalFragments})`;
    case "unknown": return payloadTypeName(p.payloadType);
  }
}

/** One line: exchange, request/response, message ID and payload labels in order. */
export function describeMessage(msg: IkeMessage): string {
  const dir = isResponse(msg.header) ? "response" : "request";
  const labels = msg.payloads.map(describePayload).join(" ");
  return `${exchangeTypeName(msg.header.exchangeType)} ${dir} ${msg.header.messageId} [ ${labels}${labels ? " " : ""}]`;
}
