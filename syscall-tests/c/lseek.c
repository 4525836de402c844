/* lseek. */
#include "harness.h"

int main(void)
{
	char path[64], buf[32];
	h_tmp(path, sizeof(path), "lseek");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	write(fd, "0123456789", 10);

	EXPECT_EQ("seek_set", lseek(fd, 3, SEEK_SET), 3);
	read(fd, buf, 2);
	CHECK("read_after_seek_set", memcmp(buf, "34", 2) == 0);
	EXPECT_EQ("seek_cur_forward", lseek(fd, 2, SEEK_CUR), 7);
	EXPECT_EQ("seek_cur_backward", lseek(fd, -5, SEEK_CUR), 2);
	EXPECT_EQ("seek_cur_zero_reports_offset", lseek(fd, 0, SEEK_CUR), 2);
	EXPECT_EQ("seek_end", lseek(fd, 0, SEEK_END), 10);
	EXPECT_EQ("seek_end_negative", lseek(fd, -4, SEEK_END), 6);
	read(fd, buf, 4);
	CHECK("read_after_seek_end", memcmp(buf, "6789", 4) == 0);
	EXPECT_EQ("seek_past_end", lseek(fd, 100, SEEK_SET), 100);
	EXPECT_EQ("read_past_end_zero", read(fd, buf, 4), 0);
	EXPECT_EQ("write_past_end", write(fd, "X", 1), 1);
	struct stat st;
	fstat(fd, &st);
	EXPECT_EQ("write_past_end_size", st.st_size, 101);
	memset(buf, 'q', sizeof(buf));
	pread(fd, buf, 5, 10);
	CHECK("hole_reads_zero", buf[0] == 0 && buf[4] == 0);
	EXPECT_ERR("seek_negative_einval", lseek(fd, -1, SEEK_SET), EINVAL);
	EXPECT_ERR("seek_cur_before_start_einval", lseek(fd, -1000, SEEK_CUR), EINVAL);
	EXPECT_EQ("offset_unchanged_after_einval", lseek(fd, 0, SEEK_CUR), 101);
	EXPECT_ERR("seek_bad_whence_einval", lseek(fd, 0, 42), EINVAL);
	EXPECT_ERR("seek_data_past_eof_enxio", lseek(fd, 1000, SEEK_DATA), ENXIO);
	EXPECT_ERR("seek_hole_past_eof_enxio", lseek(fd, 1000, SEEK_HOLE), ENXIO);
	EXPECT_EQ("seek_data_at_zero", lseek(fd, 0, SEEK_DATA), 0);
	EXPECT_EQ("seek_hole_at_end", lseek(fd, 100, SEEK_HOLE), 101);
	EXPECT_ERR("seek_bad_fd_ebadf", lseek(h_closed_fd(), 0, SEEK_SET), EBADF);
	int p[2];
	pipe(p);
	EXPECT_ERR("seek_pipe_espipe", lseek(p[0], 0, SEEK_SET), ESPIPE);
	EXPECT_ERR("seek_pipe_write_end_espipe", lseek(p[1], 0, SEEK_CUR), ESPIPE);
	close(p[0]);
	close(p[1]);
	int dn = open("/dev/null", O_RDWR);
	EXPECT_EQ("seek_dev_null_zero", lseek(dn, 123, SEEK_SET), 0);
	close(dn);
	int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
	EXPECT_EQ("seek_dir_rewind", lseek(dir, 0, SEEK_SET), 0);
	close(dir);
	/* lseek on an O_APPEND fd is allowed; the write still goes to the end */
	int ap = open(path, O_WRONLY | O_APPEND);
	EXPECT_EQ("seek_append_fd", lseek(ap, 0, SEEK_SET), 0);
	write(ap, "E", 1);
	EXPECT_EQ("append_write_moves_to_end", lseek(ap, 0, SEEK_CUR), 102);
	close(ap);
	/* the offset is per open file description */
	int other = open(path, O_RDONLY);
	lseek(fd, 5, SEEK_SET);
	EXPECT_EQ("separate_open_separate_offset", lseek(other, 0, SEEK_CUR), 0);
	close(other);
	close(fd);
	unlink(path);
	return 0;
}
