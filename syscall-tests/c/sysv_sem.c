/* System V semaphores: values, atomic multi-operation semop, blocking
 * with a child, SEM_UNDO at exit, semtimedop timeout, IPC_RMID waking a
 * waiter with EIDRM, and the errno of each kind of bad input. */
#define _GNU_SOURCE
#include "harness.h"
#include <sys/ipc.h>
#include <sys/sem.h>
#include <time.h>

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static int op(int id, unsigned short n, short v, short flg)
{
	struct sembuf b = { n, v, flg };
	return semop(id, &b, 1);
}

int main(void)
{
	int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
	EXPECT_OK("semget_private", id);
	EXPECT_EQ("initial_zero", semctl(id, 0, GETVAL), 0);
	EXPECT_EQ("setval", semctl(id, 1, SETVAL, (union semun){ .val = 5 }), 0);
	EXPECT_EQ("getval", semctl(id, 1, GETVAL), 5);
	EXPECT_EQ("getpid_after_setval", semctl(id, 1, GETPID), getpid());
	unsigned short all[3] = { 1, 2, 3 }, got[3] = { 0 };
	EXPECT_EQ("setall", semctl(id, 0, SETALL, (union semun){ .array = all }), 0);
	EXPECT_EQ("getall", semctl(id, 0, GETALL, (union semun){ .array = got }), 0);
	CHECK("getall_values", got[0] == 1 && got[1] == 2 && got[2] == 3);

	struct sembuf two[2] = { { 0, -1, 0 }, { 2, -5, IPC_NOWAIT } };
	EXPECT_ERR("atomic_nowait_eagain", semop(id, two, 2), EAGAIN);
	EXPECT_EQ("atomic_none_applied", semctl(id, 0, GETVAL), 1);
	two[1].sem_op = -3;
	EXPECT_EQ("atomic_both", semop(id, two, 2), 0);
	CHECK("atomic_both_applied", semctl(id, 0, GETVAL) == 0 && semctl(id, 2, GETVAL) == 0);
	EXPECT_ERR("wait_zero_nowait_eagain", op(id, 1, 0, IPC_NOWAIT), EAGAIN);
	EXPECT_EQ("wait_zero_ready", op(id, 0, 0, 0), 0);

	/* A child blocks on semaphore 0 until the parent posts it. */
	fflush(stdout);
	pid_t c = fork();
	if (c == 0)
		_exit(op(id, 0, -1, 0) == 0 ? 0 : 1);
	int tries = 0;
	while (semctl(id, 0, GETNCNT) != 1 && tries++ < 2000)
		usleep(1000);
	EXPECT_EQ("getncnt_waiter", semctl(id, 0, GETNCNT), 1);
	EXPECT_EQ("post", op(id, 0, 1, 0), 0);
	int st;
	waitpid(c, &st, 0);
	CHECK("child_woken", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	EXPECT_EQ("child_took_it", semctl(id, 0, GETVAL), 0);
	EXPECT_EQ("getncnt_after", semctl(id, 0, GETNCNT), 0);

	/* SEM_UNDO is reverted when the process exits. */
	fflush(stdout);
	c = fork();
	if (c == 0)
		_exit(op(id, 1, 4, SEM_UNDO) == 0 ? 0 : 1);
	waitpid(c, &st, 0);
	CHECK("undo_child_ok", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	EXPECT_EQ("undo_reverted", semctl(id, 1, GETVAL), 2);

	struct timespec ts = { 0, 20 * 1000 * 1000 };
	struct sembuf wait1 = { 2, -1, 0 };
	EXPECT_ERR("semtimedop_timeout_eagain", semtimedop(id, &wait1, 1, &ts), EAGAIN);

	struct semid_ds ds;
	EXPECT_EQ("ipc_stat", semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds }), 0);
	CHECK("stat_nsems", ds.sem_nsems == 3);
	CHECK("stat_mode", (ds.sem_perm.mode & 0777) == 0600);
	CHECK("stat_uid", ds.sem_perm.uid == geteuid());

	EXPECT_ERR("semop_bad_num_efbig", op(id, 7, 1, 0), EFBIG);
	EXPECT_ERR("semop_zero_ops_einval", semop(id, two, 0), EINVAL);
	EXPECT_ERR("semop_efault", semop(id, (void *)1, 1), EFAULT);
	EXPECT_ERR("semop_bad_id_einval", op(0x7ffffff0, 0, 1, 0), EINVAL);
	EXPECT_ERR("setval_erange", semctl(id, 0, SETVAL, (union semun){ .val = 40000 }), ERANGE);
	EXPECT_ERR("getval_bad_num_einval", semctl(id, 9, GETVAL), EINVAL);
	EXPECT_ERR("semctl_bad_cmd_einval", semctl(id, 0, 99), EINVAL);
	EXPECT_ERR("semget_zero_nsems_einval", semget(IPC_PRIVATE, 0, IPC_CREAT | 0600), EINVAL);

	key_t key = 0x5e00 + (getpid() & 0xff);
	int k = semget(key, 2, IPC_CREAT | IPC_EXCL | 0600);
	EXPECT_OK("semget_key_create", k);
	EXPECT_EQ("semget_key_finds_same", semget(key, 2, 0), k);
	EXPECT_ERR("semget_key_excl_eexist", semget(key, 2, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
	EXPECT_ERR("semget_key_more_einval", semget(key, 5, 0), EINVAL);
	EXPECT_EQ("rmid_key", semctl(k, 0, IPC_RMID), 0);
	EXPECT_ERR("key_gone_enoent", semget(key, 2, 0), ENOENT);

	/* IPC_RMID wakes a blocked waiter with EIDRM. */
	fflush(stdout);
	c = fork();
	if (c == 0)
		_exit(op(id, 2, -1, 0) == -1 && errno == EIDRM ? 0 : 1);
	tries = 0;
	while (semctl(id, 2, GETNCNT) != 1 && tries++ < 2000)
		usleep(1000);
	EXPECT_EQ("rmid", semctl(id, 0, IPC_RMID), 0);
	waitpid(c, &st, 0);
	CHECK("waiter_got_eidrm", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	EXPECT_ERR("removed_einval", semctl(id, 0, GETVAL), EINVAL);
	return 0;
}
