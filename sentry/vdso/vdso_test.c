// Native check of the vDSO image (not part of the build; run by hand):
//
//   gcc -O2 -Wall -o /tmp/vdso_test sentry/vdso/vdso_test.c -ldl
//   /tmp/vdso_test "$(ls -t target/*/build/sentry-*/out/vdso.so | head -1)"
//
/*
 * 1. dlopen()s the image and calls versioned symbols through dlvsym().
 * 2. Loads it the way the sentry does: copies the file bytes to a fresh
 *    page-aligned address, makes it read+exec, and resolves symbols from the
 *    dynamic section alone (DT_HASH, DT_SYMTAB, DT_STRTAB, DT_VERSYM,
 *    DT_VERDEF), checking the LINUX_2.6 version, as a C library does with
 *    AT_SYSINFO_EHDR. Then calls every entry point and compares the results
 *    with the host's system calls.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
typedef int (*gettimeofday_fn)(struct timeval *, void *);
typedef long (*time_fn)(long *);
typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);

static int failures;
#define CHECK(cond, ...)                                  \
    do {                                                  \
        if (!(cond)) {                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                 \
            fputc('\n', stderr);                          \
            failures++;                                   \
        }                                                 \
    } while (0)

static double ts_sec(struct timespec t) { return t.tv_sec + t.tv_nsec / 1e9; }

static void exercise(const char *how, void *(*lookup)(void *, const char *), void *ctx)
{
    static const char *names[] = {
        "__vdso_clock_gettime", "clock_gettime", "__vdso_gettimeofday", "gettimeofday",
        "__vdso_time", "time", "__vdso_getcpu", "getcpu", "__vdso_clock_getres", "clock_getres",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK(lookup(ctx, names[i]) != NULL, "%s: %s@LINUX_2.6 not found", how, names[i]);
    CHECK(lookup(ctx, "vdso_syscall2") == NULL, "%s: local helper is exported", how);

    clock_gettime_fn cgt = (clock_gettime_fn)lookup(ctx, "__vdso_clock_gettime");
    clock_gettime_fn cgr = (clock_gettime_fn)lookup(ctx, "__vdso_clock_getres");
    gettimeofday_fn gtod = (gettimeofday_fn)lookup(ctx, "__vdso_gettimeofday");
    time_fn tm = (time_fn)lookup(ctx, "__vdso_time");
    getcpu_fn gc = (getcpu_fn)lookup(ctx, "__vdso_getcpu");
    if (!cgt || !cgr || !gtod || !tm || !gc)
        return;

    struct timespec a, b, host;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &host);
    CHECK(cgt(CLOCK_MONOTONIC, &a) == 0, "%s: clock_gettime", how);
    CHECK(cgt(CLOCK_MONOTONIC, &b) == 0, "%s: clock_gettime", how);
    CHECK(ts_sec(a) >= ts_sec(host) && ts_sec(b) >= ts_sec(a) && ts_sec(b) - ts_sec(host) < 1.0,
          "%s: monotonic host %.9f vdso %.9f %.9f", how, ts_sec(host), ts_sec(a), ts_sec(b));
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &host);
    CHECK(cgt(CLOCK_REALTIME, &a) == 0 && ts_sec(a) - ts_sec(host) < 1.0 && ts_sec(a) >= ts_sec(host),
          "%s: realtime", how);
    CHECK(cgt(12345, &a) == -EINVAL, "%s: bad clock should give -EINVAL", how);
    CHECK(cgt(CLOCK_MONOTONIC, (struct timespec *)8) == -EFAULT, "%s: bad pointer should give -EFAULT", how);

    struct timespec res;
    CHECK(cgr(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0, "%s: clock_getres", how);

    struct timeval tv;
    CHECK(gtod(&tv, NULL) == 0 && labs(tv.tv_sec - (long)host.tv_sec) <= 1, "%s: gettimeofday", how);

    long t1 = 0, t0 = tm(&t1);
    CHECK(t0 == t1 && labs(t0 - (long)host.tv_sec) <= 1, "%s: time %ld %ld", how, t0, t1);

    unsigned cpu = ~0u, node = ~0u;
    CHECK(gc(&cpu, &node, NULL) == 0 && cpu < 4096 && node < 4096, "%s: getcpu", how);

    printf("%s: ok (monotonic %.6f, realtime %ld, cpu %u)\n", how, ts_sec(b), t0, cpu);
}

/* --- 1. dlopen --- */
static void *dl_lookup(void *h, const char *name) { return dlvsym(h, name, "LINUX_2.6"); }

/* --- 2. minimal loader, as a libc does with AT_SYSINFO_EHDR --- */
struct image {
    uintptr_t base;
    const Elf64_Sym *symtab;
    const char *strtab;
    const Elf32_Word *hash;
    const Elf64_Versym *versym;
    const Elf64_Verdef *verdef;
};

static void *img_lookup(void *ctx, const char *name)
{
    const struct image *im = ctx;
    Elf32_Word nbucket = im->hash[0], nchain = im->hash[1];
    const Elf32_Word *bucket = &im->hash[2], *chain = &im->hash[2 + nbucket];
    unsigned long h = 0, g;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h = (h << 4) + *p;
        if ((g = h & 0xf0000000))
            h ^= g >> 24;
        h &= ~g;
    }
    for (Elf32_Word i = bucket[h % nbucket]; i != STN_UNDEF && i < nchain; i = chain[i]) {
        const Elf64_Sym *s = &im->symtab[i];
        if (strcmp(im->strtab + s->st_name, name) != 0 || s->st_shndx == SHN_UNDEF ||
            ELF64_ST_TYPE(s->st_info) != STT_FUNC)
            continue;
        /* Version check: versym index -> verdef entry named LINUX_2.6. */
        Elf64_Versym ver = im->versym[i] & 0x7fff;
        const Elf64_Verdef *d = im->verdef;
        for (;;) {
            if (d->vd_ndx == ver) {
                const Elf64_Verdaux *aux = (const void *)((const char *)d + d->vd_aux);
                if (strcmp(im->strtab + aux->vda_name, "LINUX_2.6") == 0)
                    return (void *)(im->base + s->st_value);
                break;
            }
            if (!d->vd_next)
                break;
            d = (const void *)((const char *)d + d->vd_next);
        }
    }
    return NULL;
}

static int load_image(const char *path, struct image *im)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror(path);
        return -1;
    }
    size_t len = (st.st_size + 4095) & ~4095ul;
    CHECK(len <= 2 * 4096, "image is %ld bytes, more than two pages", (long)st.st_size);
    /* Reserve a bigger range and use an odd page inside it, to be sure
     * nothing depends on the address the linker or dlopen would choose. */
    char *r = mmap(NULL, len + 16 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *base = r + 7 * 4096;
    if (r == MAP_FAILED ||
        mmap(base, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED ||
        read(fd, base, st.st_size) != st.st_size || mprotect(base, len, PROT_READ | PROT_EXEC) < 0) {
        perror("load");
        return -1;
    }
    close(fd);

    const Elf64_Ehdr *eh = (const void *)base;
    CHECK(memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_type == ET_DYN, "not ET_DYN ELF");
    const Elf64_Phdr *ph = (const void *)(base + eh->e_phoff);
    const Elf64_Dyn *dyn = NULL;
    int loads = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD) {
            loads++;
            CHECK(ph[i].p_vaddr == 0 && ph[i].p_offset == 0 && !(ph[i].p_flags & PF_W), "PT_LOAD layout");
        }
        if (ph[i].p_type == PT_DYNAMIC)
            dyn = (const void *)(base + ph[i].p_vaddr);
    }
    CHECK(loads == 1 && dyn, "want one PT_LOAD and a PT_DYNAMIC");
    if (!dyn)
        return -1;
    memset(im, 0, sizeof *im);
    im->base = (uintptr_t)base;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        const void *p = base + dyn->d_un.d_ptr;
        switch (dyn->d_tag) {
        case DT_SYMTAB: im->symtab = p; break;
        case DT_STRTAB: im->strtab = p; break;
        case DT_HASH: im->hash = p; break;
        case DT_VERSYM: im->versym = p; break;
        case DT_VERDEF: im->verdef = p; break;
        case DT_REL: case DT_RELA: case DT_TEXTREL: case DT_JMPREL:
            CHECK(0, "image has relocations (tag %ld)", (long)dyn->d_tag);
        }
    }
    CHECK(im->symtab && im->strtab && im->hash && im->versym && im->verdef, "dynamic section incomplete");
    return im->symtab && im->strtab && im->hash && im->versym && im->verdef ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s vdso.so\n", argv[0]);
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    CHECK(h != NULL, "dlopen: %s", dlerror());
    if (h)
        exercise("dlopen", dl_lookup, h);

    struct image im;
    if (load_image(argv[1], &im) == 0)
        exercise("copied to a fresh page", img_lookup, &im);

    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("vdso_test: all ok\n");
    return 0;
}
