/* A shared, writable mapping of a file on a bind mount: stores through it
 * are seen by pread, pwrite is seen through it, and after msync and
 * munmap the host file holds both. Usage: shared_map PATH */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, 8192) != 0) {
		perror("open/ftruncate");
		return 1;
	}
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	strcpy(p, "via mmap");
	char buf[16] = { 0 };
	if (pread(fd, buf, 8, 0) != 8 || pwrite(fd, "WRITE", 5, 4096) != 5) {
		perror("pread/pwrite");
		return 1;
	}
	printf("pread sees: %s\n", buf);
	printf("mapping sees: %.5s\n", p + 4096);
	if (msync(p, 8192, MS_SYNC) != 0) {
		perror("msync");
		return 1;
	}
	munmap(p, 8192);
	close(fd);
	return 0;
}
