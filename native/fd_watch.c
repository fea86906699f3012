/*
 * tsipsec native fast path: readiness of a file descriptor (the TUN fd) on Node's own event loop.
 *
 * Why: the TUN driver (src/drivers/tun-linux.ts) reads a non-blocking fd. Waiting for it with
 * poll(2) on a worker thread costs a thread hop per idle period, which under a busy machine adds
 * milliseconds of latency per wake-up (measured in bench/tunnel.ts: ping RTT and TCP throughput).
 * A uv_poll handle puts the fd in libuv's own epoll set, like a socket: the callback runs on the
 * JS thread as soon as the fd is readable, with no thread hop (testbed.md: 185 kpps read this way).
 *
 * uv_poll is level-triggered: if the callback leaves packets in the queue (a read budget), it is
 * called again on the next loop iteration after other I/O ran, which is the fairness the driver
 * wants without scheduling anything itself.
 *
 * JavaScript surface:
 *   watchReadable(fd, callback) -> handle   callback(status) on the loop thread when fd is readable
 *                                            (status < 0 is a libuv error code, e.g. EBADF)
 *   unwatch(handle)                          stops and closes (idempotent); the handle keeps the
 *                                            loop alive until then
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdlib.h>
#include <uv.h>

typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  int active;
} fd_watch;

static void on_closed(uv_handle_t *h) { free(h->data); }

static void watch_stop(napi_env env, fd_watch *w) {
  if (!w->active) return;
  w->active = 0;
  uv_poll_stop(&w->poll);
  if (w->callback != NULL) napi_delete_reference(env, w->callback);
  if (w->async != NULL) napi_async_destroy(env, w->async);
  w->callback = NULL;
  w->async = NULL;
  /* The struct is freed by libuv's close callback, after the loop let go of the handle. */
  uv_close((uv_handle_t *)&w->poll, on_closed);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  fd_watch *w = (fd_watch *)h->data;
  if (!w->active) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, arg, result;
  if (napi_get_reference_value(env, w->callback, &cb) == napi_ok && napi_get_global(env, &recv) == napi_ok &&
      napi_create_int32(env, status, &arg) == napi_ok) {
    /* napi_make_callback runs the microtask queue afterwards, like any libuv-driven JS callback. */
    if (napi_make_callback(env, w->async, recv, cb, 1, &arg, &result) == napi_pending_exception) {
      napi_value err;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
    }
  }
  napi_close_handle_scope(env, scope);
}

/* The JS handle: an external wrapping a pointer slot, so unwatch after close is detectable. */
typedef struct {
  fd_watch *w;
} watch_slot;

static void slot_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  watch_slot *s = (watch_slot *)data;
  if (s->w != NULL) watch_stop(env, s->w);
  free(s);
}

static napi_value js_watch_readable(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, "ERR_TSIPSEC_NATIVE", "watchReadable(fd, callback)");
    return NULL;
  }
  int32_t fd;
  napi_valuetype t;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "ERR_TSIPSEC_NATIVE", "fd must be a non-negative integer");
    return NULL;
  }
  if (napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, "ERR_TSIPSEC_NATIVE", "callback must be a function");
    return NULL;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    napi_throw_error(env, "ERR_TSIPSEC_NATIVE", "no event loop");
    return NULL;
  }
  fd_watch *w = (fd_watch *)calloc(1, sizeof *w);
  watch_slot *s = (watch_slot *)calloc(1, sizeof *s);
  if (w == NULL || s == NULL) {
    free(w);
    free(s);
    napi_throw_error(env, "ERR_TSIPSEC_NATIVE", "out of memory");
    return NULL;
  }
  w->env = env;
  w->poll.data = w;
  int rc = uv_poll_init(loop, &w->poll, fd);
  if (rc != 0) {
    free(w);
    free(s);
    napi_throw_error(env, "ERR_TSIPSEC_NATIVE", uv_strerror(rc));
    return NULL;
  }
  napi_value name, resource;
  if (napi_create_reference(env, argv[1], 1, &w->callback) != napi_ok ||
      napi_create_string_utf8(env, "tsipsec:fd-watch", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_object(env, &resource) != napi_ok || napi_async_init(env, resource, name, &w->async) != napi_ok) {
    w->active = 1;
    watch_stop(env, w);
    free(s);
    napi_throw_error(env, "ERR_TSIPSEC_NATIVE", "cannot set up the callback");
    return NULL;
  }
  w->active = 1;
  rc = uv_poll_start(&w->poll, UV_READABLE, on_readable);
  if (rc != 0) {
    watch_stop(env, w);
    free(s);
    napi_throw_error(env, "ERR_TSIPSEC_NATIVE", uv_strerror(rc));
    return NULL;
  }
  s->w = w;
  napi_value ext;
  if (napi_create_external(env, s, slot_finalize, NULL, &ext) != napi_ok) {
    watch_stop(env, w);
    free(s);
    napi_throw_error(env, "ERR_TSIPSEC_NATIVE", "napi_create_external failed");
    return NULL;
  }
  return ext;
}

static napi_value js_unwatch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype t;
  void *p = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok ||
      t != napi_external || napi_get_value_external(env, argv[0], &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, "ERR_TSIPSEC_NATIVE", "unwatch(handle)");
    return NULL;
  }
  watch_slot *s = (watch_slot *)p;
  if (s->w != NULL) watch_stop(env, s->w);
  s->w = NULL;
  return NULL;
}

napi_status tsipsec_register_fd_watch(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"watchReadable", NULL, js_watch_readable, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unwatch", NULL, js_unwatch, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
