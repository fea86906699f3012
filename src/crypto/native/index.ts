/**
 * The native fast path (issue 7): an optional N-API addon over Node's own OpenSSL for the ESP
 * AEAD transforms, and the wrappers that give it the EncrAlgorithm/EncrContext contracts; plus
 * fd readiness on the event loop for the TUN driver (same addon).
 * Everything here degrades to the pure node:crypto path when the addon is absent.
 */
export {
  BATCH_BAD_OFFSETS,
  BATCH_ICV_FAILURE,
  BATCH_STRIDE,
  BatchField,
  loadNativeAddon,
  NATIVE_ADDON_FILE,
  NativeAeadKind,
  type LoadNativeOptions,
  type NativeAddon,
  type NativeHandle,
  type NativeWatchHandle,
} from "./addon.js";
export { nativeReadableWatcher, type ReadableWatch, type ReadableWatcher } from "./fd-watch.js";
export { isNativeContext, NativeAead, nativeAeadOf, type NativeEncrOptions, nativeAeadKind, nativeEncrWrapper, nativeSupports, withNativeEncr } from "./aead.js";
