/*
 * tsipsec native fast path: keyed-once AEAD contexts for ESP (RFC 4106 AES-GCM, RFC 7634
 * ChaCha20-Poly1305) over the OpenSSL that the node binary already carries.
 *
 * Theory of operation. The pure TypeScript path builds one OpenSSL cipher per packet
 * (createCipheriv: key schedule, object allocation, several JS<->C++ crossings), which costs about
 * 10 us a packet here (testbed.md). This addon keys one EVP_CIPHER_CTX per direction once, when the
 * SA is created, and per packet only sets the 12-byte nonce (4-byte salt from KEYMAT || 8-byte
 * explicit IV, RFC 4106 s4, RFC 7634 s2), feeds the AAD and the payload, and reads or checks the
 * tag. A batch call seals or opens many packets that live in one buffer, so one crossing from
 * JavaScript serves a whole burst of packets.
 *
 * The tag check on open is OpenSSL's (EVP_DecryptFinal_ex compares in constant time). When it
 * fails, the plaintext already written to the output is wiped, so no unauthenticated byte is ever
 * handed back. Keys live only inside the EVP contexts; the context free (explicit or from the
 * garbage collector's finalizer) cleanses them (EVP_CIPHER_CTX_free -> cipher cleanup) and the
 * salt/nonce copies are cleansed here with OPENSSL_cleanse.
 *
 * JavaScript surface (see src/crypto/native/index.ts for the typed wrapper):
 *   create(kind, key, salt, icvLength) -> handle      kind 0: AES-GCM (16/32-byte key), 1: ChaCha20-Poly1305
 *   seal(handle, iv, plaintext, aad, out) -> bytes written (plaintext length + ICV)
 *   open(handle, iv, ciphertextAndIcv, aad, out) -> plaintext length, or -1 when the ICV fails
 *   sealBatch(handle, buf, desc, count) / openBatch(...) -> number of packets that succeeded;
 *     desc is an Int32Array of count * 8 entries per packet:
 *       [0] iv offset (8 bytes) [1] aad offset [2] aad length [3] input offset [4] input length
 *       (open: ciphertext || ICV) [5] output offset [6] status out: output length, -1 ICV failure,
 *       -2 bad offsets [7] reserved
 *     all offsets are into buf; output may equal input (in place).
 *   free(handle)                                       wipes and frees now (idempotent)
 *   opensslVersion() -> string
 * plus watchReadable/unwatch from native/fd_watch.c (one addon, one build).
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#include <openssl/core_names.h>
#include <openssl/params.h>
#endif
#include <openssl/opensslv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KIND_AES_GCM 0
#define KIND_CHACHA20_POLY1305 1
#define SALT_LEN 4
#define IV_LEN 8
#define NONCE_LEN 12
#define DESC_STRIDE 8

typedef struct {
  EVP_CIPHER_CTX *enc;
  EVP_CIPHER_CTX *dec;
  unsigned char nonce[NONCE_LEN]; /* salt || explicit IV of the packet in hand */
  int icv;
  int live;
} aead_ctx;

static void aead_release(aead_ctx *a) {
  if (!a->live) return;
  EVP_CIPHER_CTX_free(a->enc); /* frees and cleanses the key schedule */
  EVP_CIPHER_CTX_free(a->dec);
  a->enc = NULL;
  a->dec = NULL;
  OPENSSL_cleanse(a->nonce, sizeof a->nonce);
  a->live = 0;
}

static void aead_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  aead_ctx *a = (aead_ctx *)data;
  aead_release(a);
  free(a);
}

/* ---- per-packet primitives (no JS involved) ---- */

/* The tag through the provider's parameters directly: in OpenSSL 3, EVP_CIPHER_CTX_ctrl(
 * EVP_CTRL_AEAD_GET_TAG / SET_TAG) translates each call into this OSSL_PARAM array and back, a
 * fixed cost per packet (bench:esp, docs/performance.md). Same semantics; OpenSSL 1.1 keeps ctrl. */
static int get_tag(EVP_CIPHER_CTX *c, unsigned char *tag, int len) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  OSSL_PARAM p[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, (size_t)len), OSSL_PARAM_construct_end()};
  return EVP_CIPHER_CTX_get_params(c, p);
#else
  return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, len, tag);
#endif
}

static int set_tag(EVP_CIPHER_CTX *c, unsigned char *tag, int len) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  OSSL_PARAM p[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, (size_t)len), OSSL_PARAM_construct_end()};
  return EVP_CIPHER_CTX_set_params(c, p);
#else
  return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, len, tag);
#endif
}

static int64_t do_seal(aead_ctx *a, const uint8_t *iv, const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                       uint8_t *out) {
  int len = 0;
  memcpy(a->nonce + SALT_LEN, iv, IV_LEN);
  if (EVP_EncryptInit_ex(a->enc, NULL, NULL, NULL, a->nonce) != 1) return -3;
  if (aad_len > 0 && EVP_EncryptUpdate(a->enc, NULL, &len, aad, (int)aad_len) != 1) return -3;
  int written = 0;
  if (in_len > 0) {
    if (EVP_EncryptUpdate(a->enc, out, &len, in, (int)in_len) != 1) return -3;
    written = len;
  }
  if (EVP_EncryptFinal_ex(a->enc, out + written, &len) != 1) return -3;
  if (get_tag(a->enc, out + in_len, a->icv) != 1) return -3;
  return (int64_t)in_len + a->icv;
}

/* Returns the plaintext length, or -1 when the ICV does not verify (output wiped). */
static int64_t do_open(aead_ctx *a, const uint8_t *iv, const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                       uint8_t *out) {
  if (in_len < (size_t)a->icv) return -1;
  size_t ct_len = in_len - (size_t)a->icv;
  unsigned char tag[16];
  memcpy(tag, in + ct_len, (size_t)a->icv); /* copy first: in-place output overwrites nothing after ct, but be safe */
  int len = 0;
  memcpy(a->nonce + SALT_LEN, iv, IV_LEN);
  if (EVP_DecryptInit_ex(a->dec, NULL, NULL, NULL, a->nonce) != 1) return -3;
  if (set_tag(a->dec, tag, a->icv) != 1) return -3;
  if (aad_len > 0 && EVP_DecryptUpdate(a->dec, NULL, &len, aad, (int)aad_len) != 1) return -3;
  int written = 0;
  if (ct_len > 0) {
    if (EVP_DecryptUpdate(a->dec, out, &len, in, (int)ct_len) != 1) return -3;
    written = len;
  }
  if (EVP_DecryptFinal_ex(a->dec, out + written, &len) != 1) {
    OPENSSL_cleanse(out, ct_len);
    return -1;
  }
  return (int64_t)ct_len;
}

/* ---- N-API glue ---- */

#define CHECK(call)                                                             \
  do {                                                                          \
    if ((call) != napi_ok) {                                                    \
      napi_throw_error(env, "ERR_TSIPSEC_NATIVE", "N-API call failed: " #call); \
      return NULL;                                                              \
    }                                                                           \
  } while (0)

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_TSIPSEC_NATIVE", msg);
  return NULL;
}

/* A Uint8Array/Buffer argument: pointer and length in bytes. */
static int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  napi_typedarray_type type;
  size_t length;
  void *p;
  if (napi_get_typedarray_info(env, v, &type, &length, &p, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = (uint8_t *)p;
  *len = length;
  return 1;
}

static aead_ctx *get_ctx(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  aead_ctx *a = (aead_ctx *)p;
  if (a == NULL || !a->live) return NULL;
  return a;
}

static napi_value js_create(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return throw_type(env, "create(kind, key, salt, icvLength)");
  int32_t kind, icv;
  uint8_t *key, *salt;
  size_t key_len, salt_len;
  if (napi_get_value_int32(env, argv[0], &kind) != napi_ok) return throw_type(env, "kind must be a number");
  if (!get_bytes(env, argv[1], &key, &key_len)) return throw_type(env, "key must be a Uint8Array");
  if (!get_bytes(env, argv[2], &salt, &salt_len) || salt_len != SALT_LEN) return throw_type(env, "salt must be 4 bytes");
  if (napi_get_value_int32(env, argv[3], &icv) != napi_ok) return throw_type(env, "icvLength must be a number");

  const EVP_CIPHER *cipher = NULL;
  if (kind == KIND_AES_GCM) {
    if (icv != 8 && icv != 12 && icv != 16) return throw_type(env, "AES-GCM ICV must be 8, 12 or 16 bytes");
    if (key_len == 16) cipher = EVP_aes_128_gcm();
    else if (key_len == 24) cipher = EVP_aes_192_gcm();
    else if (key_len == 32) cipher = EVP_aes_256_gcm();
    else return throw_type(env, "AES-GCM key must be 16, 24 or 32 bytes");
  } else if (kind == KIND_CHACHA20_POLY1305) {
    if (icv != 16) return throw_type(env, "ChaCha20-Poly1305 ICV is 16 bytes");
    if (key_len != 32) return throw_type(env, "ChaCha20-Poly1305 key must be 32 bytes");
    cipher = EVP_chacha20_poly1305();
  } else {
    return throw_type(env, "unknown AEAD kind");
  }

  aead_ctx *a = (aead_ctx *)calloc(1, sizeof *a);
  if (a == NULL) {
    napi_throw_error(env, "ERR_TSIPSEC_NATIVE", "out of memory");
    return NULL;
  }
  a->enc = EVP_CIPHER_CTX_new();
  a->dec = EVP_CIPHER_CTX_new();
  a->icv = icv;
  a->live = 1;
  memcpy(a->nonce, salt, SALT_LEN);
  /* Key once (the expensive key schedule); the nonce comes per packet. Both ciphers default to a
   * 12-byte IV, which is what RFC 4106 s4 and RFC 7634 s2 build. */
  if (a->enc == NULL || a->dec == NULL || EVP_EncryptInit_ex(a->enc, cipher, NULL, key, NULL) != 1 ||
      EVP_DecryptInit_ex(a->dec, cipher, NULL, key, NULL) != 1) {
    aead_release(a);
    free(a);
    napi_throw_error(env, "ERR_TSIPSEC_NATIVE", "OpenSSL refused the cipher");
    return NULL;
  }
  napi_value ext;
  if (napi_create_external(env, a, aead_finalize, NULL, &ext) != napi_ok) {
    aead_release(a);
    free(a);
    napi_throw_error(env, "ERR_TSIPSEC_NATIVE", "napi_create_external failed");
    return NULL;
  }
  return ext;
}

/* seal/open(handle, iv, input, aad, out) */
static napi_value js_one(napi_env env, napi_callback_info info, int open) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return throw_type(env, "(handle, iv, input, aad, out)");
  aead_ctx *a = get_ctx(env, argv[0]);
  if (a == NULL) return throw_type(env, "not a live AEAD context");
  uint8_t *iv, *in, *aad, *out;
  size_t iv_len, in_len, aad_len, out_len;
  if (!get_bytes(env, argv[1], &iv, &iv_len) || iv_len != IV_LEN) return throw_type(env, "iv must be 8 bytes");
  if (!get_bytes(env, argv[2], &in, &in_len) || in_len > 0x7fffff00) return throw_type(env, "input must be a Uint8Array");
  if (!get_bytes(env, argv[3], &aad, &aad_len) || aad_len > 0x7fffff00) return throw_type(env, "aad must be a Uint8Array");
  if (!get_bytes(env, argv[4], &out, &out_len)) return throw_type(env, "out must be a Uint8Array");
  int64_t r;
  if (open) {
    if (in_len >= (size_t)a->icv && out_len < in_len - (size_t)a->icv) return throw_type(env, "out too short");
    r = do_open(a, iv, aad, aad_len, in, in_len, out);
  } else {
    if (out_len < in_len + (size_t)a->icv) return throw_type(env, "out too short");
    r = do_seal(a, iv, aad, aad_len, in, in_len, out);
  }
  if (r == -3) {
    napi_throw_error(env, "ERR_TSIPSEC_NATIVE", "OpenSSL AEAD operation failed");
    return NULL;
  }
  napi_value result;
  CHECK(napi_create_int32(env, (int32_t)r, &result));
  return result;
}

static napi_value js_seal(napi_env env, napi_callback_info info) { return js_one(env, info, 0); }
static napi_value js_open(napi_env env, napi_callback_info info) { return js_one(env, info, 1); }

static int in_range(int32_t off, int64_t len, size_t size) {
  return off >= 0 && len >= 0 && (uint64_t)off + (uint64_t)len <= (uint64_t)size;
}

/* sealBatch/openBatch(handle, buf, desc, count) */
static napi_value js_batch(napi_env env, napi_callback_info info, int open) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return throw_type(env, "(handle, buf, desc, count)");
  aead_ctx *a = get_ctx(env, argv[0]);
  if (a == NULL) return throw_type(env, "not a live AEAD context");
  uint8_t *buf;
  size_t buf_len;
  if (!get_bytes(env, argv[1], &buf, &buf_len)) return throw_type(env, "buf must be a Uint8Array");
  bool is_ta = false;
  napi_typedarray_type type;
  size_t desc_len;
  void *dp;
  if (napi_is_typedarray(env, argv[2], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, argv[2], &type, &desc_len, &dp, NULL, NULL) != napi_ok || type != napi_int32_array)
    return throw_type(env, "desc must be an Int32Array");
  int32_t count;
  if (napi_get_value_int32(env, argv[3], &count) != napi_ok || count < 0 || (size_t)count * DESC_STRIDE > desc_len)
    return throw_type(env, "count out of range for desc");
  int32_t *desc = (int32_t *)dp;
  int32_t ok = 0;
  for (int32_t i = 0; i < count; i++) {
    int32_t *d = desc + (size_t)i * DESC_STRIDE;
    int32_t iv_off = d[0], aad_off = d[1], aad_len = d[2], in_off = d[3], in_len = d[4], out_off = d[5];
    int64_t out_len = open ? (int64_t)in_len - a->icv : (int64_t)in_len + a->icv;
    if (!in_range(iv_off, IV_LEN, buf_len) || !in_range(aad_off, aad_len, buf_len) || !in_range(in_off, in_len, buf_len) ||
        (out_len > 0 && !in_range(out_off, out_len, buf_len)) || (open && in_len < a->icv)) {
      d[6] = open && in_len >= 0 && in_len < a->icv ? -1 : -2;
      continue;
    }
    int64_t r = open ? do_open(a, buf + iv_off, buf + aad_off, (size_t)aad_len, buf + in_off, (size_t)in_len, buf + out_off)
                     : do_seal(a, buf + iv_off, buf + aad_off, (size_t)aad_len, buf + in_off, (size_t)in_len, buf + out_off);
    if (r == -3) {
      napi_throw_error(env, "ERR_TSIPSEC_NATIVE", "OpenSSL AEAD operation failed");
      return NULL;
    }
    d[6] = (int32_t)r;
    if (r >= 0) ok++;
  }
  napi_value result;
  CHECK(napi_create_int32(env, ok, &result));
  return result;
}

static napi_value js_seal_batch(napi_env env, napi_callback_info info) { return js_batch(env, info, 0); }
static napi_value js_open_batch(napi_env env, napi_callback_info info) { return js_batch(env, info, 1); }

static napi_value js_free(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *p = NULL;
  napi_valuetype t;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external) return throw_type(env, "free(handle)");
  CHECK(napi_get_value_external(env, argv[0], &p));
  /* The struct itself stays until the finalizer runs, so a stale handle is detected, never dangling. */
  if (p != NULL) aead_release((aead_ctx *)p);
  return NULL;
}

static napi_value js_openssl_version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  CHECK(napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &s));
  return s;
}

/* native/fd_watch.c */
napi_status tsipsec_register_fd_watch(napi_env env, napi_value exports);
/* native/batch_io.c */
napi_status tsipsec_register_batch_io(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"create", NULL, js_create, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seal", NULL, js_seal, NULL, NULL, NULL, napi_enumerable, NULL},
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sealBatch", NULL, js_seal_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openBatch", NULL, js_open_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"free", NULL, js_free, NULL, NULL, NULL, napi_enumerable, NULL},
      {"opensslVersion", NULL, js_openssl_version, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  if (tsipsec_register_fd_watch(env, exports) != napi_ok) return NULL;
  if (tsipsec_register_batch_io(env, exports) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
