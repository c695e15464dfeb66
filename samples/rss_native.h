/* rss_native.h -- native resident-set figures for the rss_*.c samples.

   Under Valgrind /proc/self describes Valgrind's process (the core shares
   it with the client), so the end-to-end tests measure native RSS by
   running a sample outside Valgrind with MEMLINE_NATIVE_HWM set.  Then, at
   exit (atexit, after main returned: what main left live is still
   mapped), the sample writes to stderr

       VmHWM: <bytes>      peak resident set (the kernel's high-water mark)
       VmRSS: <bytes>      resident set at exit

   read from /proc/self/status (whose values are in kB).  No stdio and no
   malloc: open/read/write and a stack buffer, so the measurement adds
   nothing to the heap and next to nothing to the resident set.  Without
   the variable the handler is not even registered, so runs under memline
   execute none of this.

   Each sample calls rss_native_init() first thing in main. */
#ifndef RSS_NATIVE_H
#define RSS_NATIVE_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The value in kB of the "NAME:" line of TEXT, times 1024; -1 if absent. */
static long long rss_native_field(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; *p; ) {
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            long long kb = 0;
            for (p += n + 1; *p == ' ' || *p == '\t'; p++)
                ;
            for (; *p >= '0' && *p <= '9'; p++)
                kb = kb * 10 + (*p - '0');
            return kb * 1024;
        }
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
    }
    return -1;
}

/* Writes "NAME: V\n" to FD with one write(2). */
static void rss_native_put(int fd, const char *name, long long v)
{
    char buf[64], digits[24];
    int n = 0, d = 0, neg = v < 0;
    if (neg)
        v = -v;
    do
        digits[d++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    size_t len = strlen(name);
    memcpy(buf + n, name, len);
    n += (int)len;
    buf[n++] = ':';
    buf[n++] = ' ';
    if (neg)
        buf[n++] = '-';
    while (d > 0)
        buf[n++] = digits[--d];
    buf[n++] = '\n';
    if (write(fd, buf, (size_t)n) < 0)
        _exit(3);
}

/* Reads /proc/self/status into text (NUL-terminated); 0, or -1. */
static int rss_native_status(char text[4096])
{
    ssize_t len = 0, r;
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0)
        return -1;
    while (len < 4095 && (r = read(fd, text + len, 4095 - (size_t)len)) > 0)
        len += r;
    close(fd);
    text[len] = '\0';
    return 0;
}

static void rss_native_report(void)
{
    char text[4096];
    if (rss_native_status(text) != 0)
        return;
    rss_native_put(2, "VmHWM", rss_native_field(text, "VmHWM"));
    rss_native_put(2, "VmRSS", rss_native_field(text, "VmRSS"));
}

/* Writes one byte in each 4 KiB page of p[0 .. size), from its first
   byte: the pages a sample means to make resident. */
static void touch(char *p, size_t size)
{
    for (size_t i = 0; i < size; i += 4096) p[i] = 1;
}

static void rss_native_init(void)
{
    if (getenv("MEMLINE_NATIVE_HWM"))
        atexit(rss_native_report);
}

/* An unlinked temporary file of bytes bytes of 'f' in $TMPDIR (default
   /tmp), for the samples that map a file (rss_file.c, rss_fault.c): its
   descriptor, or -1.  Written a page at a time from a static buffer --
   write(2) reads the buffer, which does not change the resident set;
   filling it writes its page of .bss.  Page by page, because the page
   cache keeps what one write(2) brings as one folio, and Linux maps a
   large folio whole around a fault (docs/rss-model.md). */
static inline int rss_temp_file(size_t bytes)
{
    static char buf[4096];
    static const char tmpl[] = "/memline-sample.XXXXXX";
    const char *dir = getenv("TMPDIR");
    char path[4096];
    if (!dir || !*dir)
        dir = "/tmp";
    size_t n = strlen(dir);
    if (n + sizeof tmpl > sizeof path)
        return -1;
    memcpy(path, dir, n);
    memcpy(path + n, tmpl, sizeof tmpl);
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unlink(path);
    memset(buf, 'f', sizeof buf);
    for (size_t done = 0; done < bytes; ) {
        size_t len = bytes - done < sizeof buf ? bytes - done : sizeof buf;
        if (write(fd, buf, len) != (ssize_t)len) {
            close(fd);
            return -1;
        }
        done += len;
    }
    return fd;
}

/* Per-line native figures (rss_fault.c, rss_mapped.c, rss_zero.c): with
   MEMLINE_NATIVE_HWM set, rss_native_step(NAME) writes "NAME: BYTES" to
   stdout, the change of VmRSS since its previous call.  rss_native_begin()
   goes before the first measured line.  A sample whose lines change only
   anonymous memory sets rss_native_counted to "RssAnon" first: VmRSS
   also moves by the pages of libc's code that the kernel's fault-around
   maps when the line first runs some code, 16 pages at a time and not in
   every run (rss_heap's L:grow: 65 pages in 29 runs of 30, 81 in one). */
static long long rss_native_mark;
static const char *rss_native_counted = "VmRSS";

/* The process's resident bytes as rss_native_counted counts them, read
   without malloc or stdio. */
static inline long long rss_native_vm_rss(void)
{
    char text[4096];
    return rss_native_status(text) == 0
               ? rss_native_field(text, rss_native_counted) : -1;
}

static inline void rss_native_step(const char *name)
{
    if (!getenv("MEMLINE_NATIVE_HWM"))
        return;
    long long now = rss_native_vm_rss();
    rss_native_put(1, name, now - rss_native_mark);
    rss_native_mark = rss_native_vm_rss();
}

/* Before the first measured line: two steps ("start"), so that the
   step's own code and stack are resident when the first one is taken. */
static inline void rss_native_begin(void)
{
    rss_native_step("start");
    rss_native_step("start");
}

#endif
