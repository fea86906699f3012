import koffi from "koffi";

/**
 * The few libc calls the drivers need, through koffi (a prebuilt FFI, no compiler needed).
 *
 * Every function returns the raw C result; on -1, {@link errno} says why (read right after the
 * call, on the same thread). `open` and `ioctl` are variadic in C; declaring them with fixed
 * pointer/integer arguments is ABI-compatible on the Linux ABIs Node runs on (no float varargs).
 */

/** errno values used by the drivers (Linux generic numbering). */
export const ERRNO = { EINTR: 4, EAGAIN: 11, EBADF: 9, ENOENT: 2, EPERM: 1, EACCES: 13, EBUSY: 16, EINVAL: 22, ENOBUFS: 105 } as const;

/** open(2) flags (Linux x86-64/arm64 values). */
export const O_RDWR = 0o2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

/** poll(2) event bits. */
export const POLLIN = 0x001;

export interface Libc {
  open(path: string, flags: number): number;
  close(fd: number): number;
  ioctl(fd: number, request: number, arg: Uint8Array): number;
  read(fd: number, buf: Uint8Array, count: number): number;
  write(fd: number, buf: Uint8Array, count: number): number;
  /** poll(2) on a thread of koffi's pool; the callback gets the result (or an FFI error). */
  pollAsync(fds: Uint8Array, nfds: number, timeoutMs: number, done: (err: unknown, result: number) => void): void;
  /** errno of the last failed call on this thread. */
  errno(): number;
  /** strerror-like text for an errno value. */
  describe(errnum: number): string;
}

let cached: Libc | undefined;

/** Loads libc once. Throws if libc cannot be loaded (not Linux/glibc). */
export function libc(): Libc {
  if (cached !== undefined) return cached;
  const lib = koffi.load("libc.so.6");
  const open = lib.func("int open(const char *path, int flags)");
  const close = lib.func("int close(int fd)");
  const ioctl = lib.func("int ioctl(int fd, unsigned long request, void *arg)");
  const read = lib.func("long read(int fd, void *buf, unsigned long count)");
  const write = lib.func("long write(int fd, const void *buf, unsigned long count)");
  const poll = lib.func("int poll(void *fds, unsigned long nfds, int timeout)");
  const strerror = lib.func("const char *strerror(int errnum)");
  cached = {
    open: (path, flags) => Number(open(path, flags)),
    close: (fd) => Number(close(fd)),
    ioctl: (fd, request, arg) => Number(ioctl(fd, request, arg)),
    read: (fd, buf, count) => Number(read(fd, buf, count)),
    write: (fd, buf, count) => Number(write(fd, buf, count)),
    pollAsync: (fds, nfds, timeoutMs, done) => {
      poll.async(fds, nfds, timeoutMs, (err: unknown, res: unknown) => done(err, Number(res)));
    },
    errno: () => koffi.errno(),
    describe: (errnum) => String(strerror(errnum)),
  };
  return cached;
}
