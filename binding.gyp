{
  "targets": [
    {
      "target_name": "tsipsec_native",
      "sources": ["native/esp_aead.c", "native/fd_watch.c", "native/batch_io.c", "native/tun_offload.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS"]
    }
  ]
}
