/* memfd_create(2) and file seals (F_ADD_SEALS, F_GET_SEALS): what the
 * file is, its /proc link, the seals each flag starts with, what each seal
 * stops (writes, growth, shrinking, shared writable mappings, exec-bit
 * changes), and the errno of bad input. Also: a shared mapping of a file
 * opened read-only cannot be mprotect'ed writable. */
#include "harness.h"
#include <sys/mman.h>
#include <sys/syscall.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x10
#endif
#define SEAL_EXEC 0x20
#define NOEXEC_SEAL 0x8
#define EXEC 0x10

static int mfd(const char *name, unsigned flags)
{
	return (int)syscall(SYS_memfd_create, name, flags);
}

int main(void)
{
	struct stat st;
	char buf[256], want[64];

	int fd = mfd("conf", MFD_CLOEXEC);
	CHECKF("create", fd >= 0, "errno %s", h_errname(errno));
	fstat(fd, &st);
	CHECKF("regular_0777", st.st_mode == (S_IFREG | 0777), "mode %o", st.st_mode);
	EXPECT_EQ("nlink_0", st.st_nlink, 0);
	EXPECT_EQ("owner_is_caller", st.st_uid, geteuid());
	EXPECT_EQ("empty", st.st_size, 0);
	EXPECT_EQ("read_write", fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	EXPECT_EQ("cloexec", fcntl(fd, F_GETFD), FD_CLOEXEC);
	snprintf(want, sizeof(want), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(want, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	CHECKF("proc_link", strcmp(buf, "/memfd:conf (deleted)") == 0, "'%s'", buf);
	EXPECT_EQ("write", write(fd, "hello", 5), 5);
	char back[8] = {0};
	EXPECT_EQ("pread", pread(fd, back, 5, 0), 5);
	CHECK("content", strcmp(back, "hello") == 0);
	EXPECT_OK("ftruncate", ftruncate(fd, 8192));
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK("map_shared", m != MAP_FAILED);
	if (m != MAP_FAILED) {
		m[4096] = 'Z';
		pread(fd, back, 1, 4096);
		CHECK("mapping_seen_by_read", back[0] == 'Z');
		munmap(m, 8192);
	}
	EXPECT_EQ("default_seals", fcntl(fd, F_GET_SEALS), F_SEAL_SEAL);
	EXPECT_ERR("default_sealed", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
	close(fd);

	/* Bad input. */
	EXPECT_ERR("bad_flag", mfd("x", 0x100), EINVAL);
	EXPECT_ERR("exec_and_noexec", mfd("x", EXEC | NOEXEC_SEAL), EINVAL);
	memset(buf, 'n', sizeof(buf));
	buf[249] = 0;
	fd = mfd(buf, 0);
	CHECKF("name_249", fd >= 0, "errno %s", h_errname(errno));
	close(fd);
	buf[249] = 'n';
	buf[250] = 0;
	EXPECT_ERR("name_250_einval", mfd(buf, 0), EINVAL);
	EXPECT_ERR("name_efault", mfd((const char *)1, 0), EFAULT);

	/* Sealing. */
	int s = mfd("seal", MFD_ALLOW_SEALING);
	EXPECT_EQ("sealable_no_seals", fcntl(s, F_GET_SEALS), 0);
	write(s, "abcdef", 6);
	EXPECT_OK("add_shrink_grow", fcntl(s, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
	EXPECT_ERR("shrink_eperm", ftruncate(s, 2), EPERM);
	EXPECT_ERR("grow_eperm", ftruncate(s, 100), EPERM);
	EXPECT_OK("same_size_ok", ftruncate(s, 6));
	EXPECT_ERR("write_past_end_eperm", pwrite(s, "xy", 2, 5), EPERM);
	EXPECT_EQ("write_inside_ok", pwrite(s, "xy", 2, 1), 2);
	EXPECT_ERR("fallocate_grow_eperm", fallocate(s, 0, 0, 8192), EPERM);
	EXPECT_ERR("fallocate_keep_size_eperm", fallocate(s, FALLOC_FL_KEEP_SIZE, 0, 8192), EPERM);
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, s, 0);
	EXPECT_ERR("seal_write_while_mapped_ebusy", fcntl(s, F_ADD_SEALS, F_SEAL_WRITE), EBUSY);
	munmap(m, 4096);
	EXPECT_OK("seal_write", fcntl(s, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_ERR("write_sealed_eperm", pwrite(s, "q", 1, 0), EPERM);
	EXPECT_EQ("shared_writable_map_eperm", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0) == MAP_FAILED ? errno : 0, EPERM);
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, s, 0);
	CHECK("shared_read_map_ok", m != MAP_FAILED);
	EXPECT_ERR("mprotect_write_eacces", mprotect(m, 4096, PROT_READ | PROT_WRITE), EACCES);
	munmap(m, 4096);
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, s, 0);
	CHECK("private_map_ok", p != MAP_FAILED);
	if (p != MAP_FAILED) {
		p[0] = 'P';
		pread(s, back, 1, 0);
		CHECK("private_write_stays_private", back[0] == 'a');
		munmap(p, 4096);
	}
	EXPECT_EQ("seals_now", fcntl(s, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
	EXPECT_ERR("bad_seal_einval", fcntl(s, F_ADD_SEALS, 0x100), EINVAL);
	snprintf(want, sizeof(want), "/proc/self/fd/%d", s);
	int ro = open(want, O_RDONLY);
	EXPECT_ERR("add_via_read_only_fd_eperm", fcntl(ro, F_ADD_SEALS, SEAL_EXEC), EPERM);
	EXPECT_EQ("reopened_shares_seals", fcntl(ro, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
	close(ro);
	EXPECT_OK("seal_seal", fcntl(s, F_ADD_SEALS, F_SEAL_SEAL));
	EXPECT_ERR("after_seal_eperm", fcntl(s, F_ADD_SEALS, SEAL_EXEC), EPERM);
	close(s);

	/* F_SEAL_FUTURE_WRITE */
	int fw = mfd("future", MFD_ALLOW_SEALING);
	ftruncate(fw, 4096);
	EXPECT_OK("add_future_write", fcntl(fw, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	EXPECT_ERR("future_write_eperm", write(fw, "x", 1), EPERM);
	EXPECT_EQ("future_shared_writable_eperm", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fw, 0) == MAP_FAILED ? errno : 0, EPERM);
	close(fw);

	/* F_SEAL_EXEC and MFD_NOEXEC_SEAL */
	int ex = mfd("exec", MFD_ALLOW_SEALING);
	EXPECT_OK("add_seal_exec", fcntl(ex, F_ADD_SEALS, SEAL_EXEC));
	EXPECT_ERR("chmod_exec_bits_eperm", fchmod(ex, 0666), EPERM);
	EXPECT_OK("chmod_other_bits_ok", fchmod(ex, 01777));
	close(ex);
	int ne = mfd("noexec", NOEXEC_SEAL);
	fstat(ne, &st);
	CHECKF("noexec_0666", (st.st_mode & 07777) == 0666, "mode %o", st.st_mode & 07777);
	EXPECT_EQ("noexec_seals", fcntl(ne, F_GET_SEALS), SEAL_EXEC);
	close(ne);

	/* Seals of other files. */
	char path[64];
	h_tmp(path, sizeof(path), "memfd_plain");
	int pf = open(path, O_RDWR | O_CREAT, 0600);
	EXPECT_ERR("disk_file_get_seals_einval", fcntl(pf, F_GET_SEALS), EINVAL);
	EXPECT_ERR("disk_file_add_seals_einval", fcntl(pf, F_ADD_SEALS, F_SEAL_WRITE), EINVAL);
	close(pf);
	int tf = open("/dev/shm/st_memfd_plain", O_RDWR | O_CREAT, 0600);
	EXPECT_EQ("tmpfs_file_sealed", fcntl(tf, F_GET_SEALS), F_SEAL_SEAL);
	close(tf);
	unlink("/dev/shm/st_memfd_plain");

	/* A shared mapping through a read-only fd stays read-only. */
	h_write_file(path, "data", 4, 0644);
	int rd = open(path, O_RDONLY);
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, rd, 0);
	CHECK("rdonly_shared_map_ok", m != MAP_FAILED);
	EXPECT_ERR("rdonly_shared_mprotect_eacces", mprotect(m, 4096, PROT_READ | PROT_WRITE), EACCES);
	munmap(m, 4096);
	m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, rd, 0);
	EXPECT_OK("rdonly_private_mprotect_ok", mprotect(m, 4096, PROT_READ | PROT_WRITE));
	munmap(m, 4096);
	close(rd);
	unlink(path);
	return 0;
}
