/* Extended attributes in the user namespace: set (with XATTR_CREATE and
 * XATTR_REPLACE), get (size probing, ERANGE), list, remove, the l* and f*
 * variants, and the errno of bad names, sizes, flags and namespaces. */
#define _GNU_SOURCE
#include "harness.h"
#include <fcntl.h>
#include <sys/xattr.h>

int main(void)
{
	char path[64], link[80], buf[256];
	h_tmp(path, sizeof(path), "xattr");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	EXPECT_OK("create", fd);

	EXPECT_EQ("set", setxattr(path, "user.a", "one", 3, 0), 0);
	EXPECT_EQ("get_size_probe", getxattr(path, "user.a", NULL, 0), 3);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ("get", getxattr(path, "user.a", buf, sizeof(buf)), 3);
	CHECK("get_value", memcmp(buf, "one", 3) == 0);
	EXPECT_ERR("get_small_buffer_erange", getxattr(path, "user.a", buf, 2), ERANGE);
	EXPECT_ERR("get_missing_enodata", getxattr(path, "user.none", buf, sizeof(buf)), ENODATA);
	EXPECT_ERR("create_existing_eexist", setxattr(path, "user.a", "x", 1, XATTR_CREATE), EEXIST);
	EXPECT_ERR("replace_missing_enodata", setxattr(path, "user.b", "x", 1, XATTR_REPLACE), ENODATA);
	EXPECT_EQ("replace", setxattr(path, "user.a", "two!", 4, XATTR_REPLACE), 0);
	EXPECT_EQ("get_replaced", getxattr(path, "user.a", buf, sizeof(buf)), 4);
	EXPECT_EQ("fset", fsetxattr(fd, "user.b", "", 0, XATTR_CREATE), 0);
	EXPECT_EQ("fget_empty_value", fgetxattr(fd, "user.b", buf, sizeof(buf)), 0);

	/* list: "user.a\0user.b\0" in some order */
	EXPECT_EQ("list_size_probe", listxattr(path, NULL, 0), 14);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ("list", listxattr(path, buf, sizeof(buf)), 14);
	CHECK("list_names", (!strcmp(buf, "user.a") && !strcmp(buf + 7, "user.b")) ||
				    (!strcmp(buf, "user.b") && !strcmp(buf + 7, "user.a")));
	EXPECT_ERR("list_small_erange", listxattr(path, buf, 5), ERANGE);
	EXPECT_EQ("flist", flistxattr(fd, buf, sizeof(buf)), 14);

	EXPECT_EQ("remove", removexattr(path, "user.a"), 0);
	EXPECT_ERR("remove_again_enodata", removexattr(path, "user.a"), ENODATA);
	EXPECT_EQ("fremove", fremovexattr(fd, "user.b"), 0);
	EXPECT_EQ("list_empty", listxattr(path, buf, sizeof(buf)), 0);

	/* symlinks: user.* not allowed on the link itself */
	snprintf(link, sizeof(link), "%s_l", path);
	symlink(path, link);
	EXPECT_ERR("lset_on_symlink_eperm", lsetxattr(link, "user.a", "x", 1, 0), EPERM);
	EXPECT_EQ("set_through_symlink", setxattr(link, "user.c", "y", 1, 0), 0);
	EXPECT_EQ("target_got_it", getxattr(path, "user.c", buf, sizeof(buf)), 1);
	EXPECT_EQ("llist_symlink_empty", llistxattr(link, buf, sizeof(buf)), 0);
	unlink(link);

	/* bad input */
	EXPECT_ERR("no_namespace_eopnotsupp", setxattr(path, "plain", "x", 1, 0), EOPNOTSUPP);
	EXPECT_ERR("unknown_namespace_eopnotsupp", setxattr(path, "bogus.x", "x", 1, 0), EOPNOTSUPP);
	EXPECT_ERR("empty_name_erange", setxattr(path, "", "x", 1, 0), ERANGE);
	char longname[300];
	memcpy(longname, "user.", 5);
	memset(longname + 5, 'n', 280);
	longname[285] = 0;
	EXPECT_ERR("long_name_erange", setxattr(path, longname, "x", 1, 0), ERANGE);
	static char big[65537];
	EXPECT_ERR("big_value_e2big", setxattr(path, "user.big", big, sizeof(big), 0), E2BIG);
	EXPECT_ERR("bad_flags_einval", setxattr(path, "user.f", "x", 1, 4), EINVAL);
	EXPECT_ERR("missing_file_enoent", setxattr("/tmp/st_no_such_xattr_file", "user.a", "x", 1, 0), ENOENT);
	EXPECT_ERR("badfd_ebadf", fsetxattr(-1, "user.a", "x", 1, 0), EBADF);
	EXPECT_ERR("bad_name_pointer_efault", setxattr(path, (char *)8, "x", 1, 0), EFAULT);
	EXPECT_ERR("bad_value_pointer_efault", setxattr(path, "user.v", (char *)8, 4, 0), EFAULT);

	close(fd);
	unlink(path);
	return 0;
}
