/* A stat-heavy loop: lstat every entry under a tree (default
 * /usr/include) once to collect the paths, then stat them all ROUNDS times
 * (default 5) and print the cost per call. The paths walked are absolute,
 * so every call looks up each component again, as ls -lR and make do. */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static char **paths;
static size_t n, cap;

static int collect(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	if (n == cap) {
		cap = cap ? cap * 2 : 4096;
		paths = realloc(paths, cap * sizeof(*paths));
		if (!paths)
			exit(2);
	}
	paths[n++] = strdup(p);
	return 0;
}

int main(int argc, char **argv)
{
	const char *root = argc > 1 ? argv[1] : "/usr/include";
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	if (nftw(root, collect, 64, FTW_PHYS) != 0 || n == 0) {
		perror("nftw");
		return 1;
	}
	struct timespec a, b;
	struct stat st;
	long bad = 0;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int r = 0; r < rounds; r++)
		for (size_t i = 0; i < n; i++)
			if (lstat(paths[i], &st) != 0)
				bad++;
	clock_gettime(CLOCK_MONOTONIC, &b);
	double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / ((double)n * rounds);
	printf("%.1f ns/call (%zu paths x %d rounds, %ld failed)\n", ns, n, rounds, bad);
	return bad != 0;
}
