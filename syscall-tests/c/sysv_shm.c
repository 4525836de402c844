/* System V shared memory: a segment shared with a child, keys, IPC_STAT,
 * IPC_RMID, and the errno of each kind of bad input. */
#include "harness.h"
#include <sys/ipc.h>
#include <sys/shm.h>

int main(void)
{
	int id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
	EXPECT_OK("shmget_private", id);
	char *p = shmat(id, NULL, 0);
	CHECK("shmat", p != (void *)-1);
	strcpy(p, "parent");
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		strcpy(p + 4096, "child");
		_exit(strcmp(p, "parent") == 0 ? 0 : 1);
	}
	int st;
	waitpid(c, &st, 0);
	CHECK("child_saw_parent_data", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK("parent_sees_child_write", strcmp(p + 4096, "child") == 0);
	char *q = shmat(id, NULL, SHM_RDONLY);
	CHECK("second_attach_same_memory", q != (void *)-1 && strcmp(q, "parent") == 0);
	struct shmid_ds ds;
	EXPECT_EQ("ipc_stat", shmctl(id, IPC_STAT, &ds), 0);
	CHECK("stat_size", ds.shm_segsz == 8192);
	CHECK("stat_creator", ds.shm_cpid == getpid());
	EXPECT_EQ("shmdt_second", shmdt(q), 0);
	EXPECT_ERR("shmdt_not_attached_einval", shmdt(q), EINVAL);

	key_t key = 0x5700 + (getpid() & 0xff);
	int k1 = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
	EXPECT_OK("shmget_key_create", k1);
	EXPECT_EQ("shmget_key_finds_same", shmget(key, 4096, 0), k1);
	EXPECT_ERR("shmget_key_excl_eexist", shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
	EXPECT_ERR("shmget_key_bigger_einval", shmget(key, 1 << 20, 0), EINVAL);
	EXPECT_EQ("rmid_key", shmctl(k1, IPC_RMID, NULL), 0);
	EXPECT_ERR("key_gone_after_rmid_enoent", shmget(key, 4096, 0), ENOENT);
	EXPECT_ERR("shmget_missing_enoent", shmget(0x7ffffff0, 4096, 0), ENOENT);
	EXPECT_ERR("shmget_zero_size_einval", shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600), EINVAL);
	EXPECT_ERR("shmat_bad_id_einval", (long)shmat(0x7ffffff0, NULL, 0), EINVAL);
	EXPECT_ERR("shmat_unaligned_einval", (long)shmat(id, (void *)0x10001, 0), EINVAL);
	EXPECT_ERR("shmctl_bad_cmd_einval", shmctl(id, 99, &ds), EINVAL);
	EXPECT_ERR("shmctl_stat_efault", shmctl(id, IPC_STAT, (void *)1), EFAULT);

	EXPECT_EQ("rmid_attached", shmctl(id, IPC_RMID, NULL), 0);
	CHECK("still_mapped_after_rmid", strcmp(p, "parent") == 0);
	EXPECT_EQ("shmdt_last", shmdt(p), 0);
	EXPECT_ERR("segment_gone_einval", shmctl(id, IPC_STAT, &ds), EINVAL);
	return 0;
}
