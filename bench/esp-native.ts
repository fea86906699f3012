/**
 * `npm run bench:esp-native` is now part of `npm run bench:esp` (bench/esp.ts): the same table
 * with the native burst path the daemon uses, the per-packet native path, the pure path, the
 * addon's AEAD-only ceiling and `openssl speed`, in one run. Kept as an alias until package.json
 * drops the script.
 */
import "./esp.js";
