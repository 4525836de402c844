/*
 * Priority-inheritance futexes: FUTEX_LOCK_PI, LOCK_PI2, TRYLOCK_PI,
 * UNLOCK_PI, WAIT_REQUEUE_PI and CMP_REQUEUE_PI, with the lock word
 * protocol (owner tid, FUTEX_WAITERS, FUTEX_OWNER_DIED), their errors,
 * owner death, and PTHREAD_PRIO_INHERIT mutexes (plain and robust).
 */
#include "harness.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>

static long fx(uint32_t *u, int op, uint32_t val, const struct timespec *ts, uint32_t *u2, uint32_t val3)
{
	return syscall(SYS_futex, u, op, val, ts, u2, val3);
}

static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Spin (with sleeps) until *w has FUTEX_WAITERS: the other thread is
 * queued in the kernel. Gives up after 5 s. */
static int wait_for_waiters(_Atomic uint32_t *w)
{
	for (int i = 0; i < 5000; i++) {
		if (atomic_load(w) & FUTEX_WAITERS)
			return 1;
		usleep(1000);
	}
	return 0;
}

static _Atomic uint32_t lockw;
static _Atomic uint32_t seen_word;
static _Atomic long thr_ret;
static _Atomic int thr_errno;

static void *locker(void *arg)
{
	(void)arg;
	long r = fx((uint32_t *)&lockw, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
	thr_ret = r;
	thr_errno = r < 0 ? errno : 0;
	seen_word = atomic_load(&lockw);
	if (r == 0)
		fx((uint32_t *)&lockw, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);
	return NULL;
}

static void *trylocker(void *arg)
{
	(void)arg;
	long r = fx((uint32_t *)&lockw, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0);
	thr_ret = r;
	thr_errno = r < 0 ? errno : 0;
	return NULL;
}

static void *timed_locker(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 100 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	long r = fx((uint32_t *)&lockw, FUTEX_LOCK_PI, 0, &ts, NULL, 0);
	thr_ret = r;
	thr_errno = r < 0 ? errno : 0;
	return NULL;
}

/* Takes the lock and exits holding it (no robust list). */
static void *dying_owner(void *arg)
{
	(void)arg;
	fx((uint32_t *)&lockw, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
	return NULL;
}

static _Atomic int release_owner;

/* Takes the lock, waits to be told, and exits holding it. */
static void *held_owner(void *arg)
{
	(void)arg;
	fx((uint32_t *)&lockw, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
	while (!atomic_load(&release_owner))
		usleep(1000);
	return NULL;
}

static pthread_mutex_t pim;
static long counter;

static void *pi_adder(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		pthread_mutex_lock(&pim);
		counter++;
		pthread_mutex_unlock(&pim);
	}
	return NULL;
}

static pthread_mutex_t robust_pim;

static void *robust_dier(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&robust_pim);
	return NULL;
}

static _Atomic uint32_t condw, pilock;

static void *requeue_waiter(void *arg)
{
	(void)arg;
	long r = fx((uint32_t *)&condw, FUTEX_WAIT_REQUEUE_PI, 0, NULL, (uint32_t *)&pilock, 0);
	thr_ret = r;
	thr_errno = r < 0 ? errno : 0;
	seen_word = atomic_load(&pilock);
	if (r == 0)
		fx((uint32_t *)&pilock, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);
	return NULL;
}

int main(void)
{
	alarm(30);
	pthread_t th;
	uint32_t me = (uint32_t)tid();

	/* Uncontended: the word is the owner's tid. */
	lockw = 0;
	EXPECT_OK("trylock_free", fx((uint32_t *)&lockw, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0));
	EXPECT_EQ("trylock_word_is_tid", atomic_load(&lockw), me);
	EXPECT_ERR("trylock_self_edeadlk", fx((uint32_t *)&lockw, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0), EDEADLK);
	EXPECT_ERR("lock_self_edeadlk", fx((uint32_t *)&lockw, FUTEX_LOCK_PI, 0, NULL, NULL, 0), EDEADLK);
	EXPECT_OK("unlock_owner", fx((uint32_t *)&lockw, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
	EXPECT_EQ("unlock_word_zero", atomic_load(&lockw), 0);
	EXPECT_ERR("unlock_not_owner_eperm", fx((uint32_t *)&lockw, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0), EPERM);
	EXPECT_OK("lock_pi_free", fx((uint32_t *)&lockw, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
	EXPECT_OK("unlock_after_lock", fx((uint32_t *)&lockw, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
	EXPECT_OK("lock_pi2_free", fx((uint32_t *)&lockw, 13 /* FUTEX_LOCK_PI2 */, 0, NULL, NULL, 0));
	EXPECT_OK("unlock_after_lock_pi2", fx((uint32_t *)&lockw, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
	EXPECT_ERR("lock_pi_misaligned_einval", syscall(SYS_futex, (char *)&lockw + 1, FUTEX_LOCK_PI, 0, NULL, NULL, 0), EINVAL);
	EXPECT_ERR("lock_pi_unmapped_efault", fx(h_unmapped(), FUTEX_LOCK_PI, 0, NULL, NULL, 0), EFAULT);

	/* An owner that does not exist. */
	lockw = 0x3ffffff0;
	EXPECT_ERR("lock_pi_dead_owner_esrch", fx((uint32_t *)&lockw, FUTEX_LOCK_PI, 0, NULL, NULL, 0), ESRCH);

	/* Contention: the waiter sets FUTEX_WAITERS and is handed the lock. */
	lockw = 0;
	fx((uint32_t *)&lockw, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
	thr_ret = -2;
	pthread_create(&th, NULL, trylocker, NULL);
	pthread_join(th, NULL);
	/* Linux says EWOULDBLOCK (EAGAIN), not the EBUSY futex(2) documents. */
	CHECKF("trylock_owned_eagain", thr_ret == -1 && thr_errno == EAGAIN, "ret %ld errno %d", (long)thr_ret, (int)thr_errno);
	pthread_create(&th, NULL, locker, NULL);
	CHECK("waiter_sets_futex_waiters", wait_for_waiters(&lockw));
	CHECKF("owner_still_me", (atomic_load(&lockw) & FUTEX_TID_MASK) == me, "word %#x", (unsigned)atomic_load(&lockw));
	EXPECT_OK("unlock_hands_over", fx((uint32_t *)&lockw, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
	pthread_join(th, NULL);
	CHECKF("waiter_got_lock", thr_ret == 0, "ret %ld errno %d", (long)thr_ret, (int)thr_errno);
	/* Linux hands the lock over as tid | FUTEX_WAITERS whether or not
	 * others wait (the PI state lives until the heir unlocks); but when
	 * the unlock overtakes a waiter that has set FUTEX_WAITERS and not yet
	 * blocked, the lock is freed and the waiter takes it as a bare tid.
	 * Either is Linux. */
	CHECKF("waiter_word_is_its_tid", (seen_word & FUTEX_TID_MASK) != me && (seen_word & FUTEX_TID_MASK) != 0 &&
		   !(seen_word & FUTEX_OWNER_DIED), "word %#x", (unsigned)seen_word);
	EXPECT_EQ("word_free_after_waiter_unlock", atomic_load(&lockw), 0);

	/* Timeout (absolute, CLOCK_REALTIME). */
	fx((uint32_t *)&lockw, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
	pthread_create(&th, NULL, timed_locker, NULL);
	pthread_join(th, NULL);
	CHECKF("lock_pi_timeout_etimedout", thr_ret == -1 && thr_errno == ETIMEDOUT, "ret %ld errno %d", (long)thr_ret, (int)thr_errno);
	fx((uint32_t *)&lockw, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);
	lockw = 0;

	/* The owner exited holding the lock before anyone waited (and without
	 * a robust list): the word still names it, and LOCK_PI says ESRCH. */
	pthread_create(&th, NULL, dying_owner, NULL);
	pthread_join(th, NULL);
	EXPECT_ERR("lock_after_owner_gone_esrch", fx((uint32_t *)&lockw, FUTEX_LOCK_PI, 0, NULL, NULL, 0), ESRCH);
	lockw = 0;

	/* The owner exits holding the lock while a thread waits: the waiter
	 * gets it, with FUTEX_OWNER_DIED. */
	pthread_create(&th, NULL, held_owner, NULL);
	while (!(atomic_load(&lockw) & FUTEX_TID_MASK))
		usleep(1000);
	pthread_t waiter;
	thr_ret = -2;
	pthread_create(&waiter, NULL, locker, NULL);
	CHECK("owner_death_waiter_queued", wait_for_waiters(&lockw));
	atomic_store(&release_owner, 1);
	pthread_join(th, NULL);
	pthread_join(waiter, NULL);
	CHECKF("owner_death_waiter_gets_lock", thr_ret == 0, "ret %ld errno %s", (long)thr_ret, h_errname(thr_errno));
	CHECKF("owner_death_sets_owner_died", seen_word & FUTEX_OWNER_DIED, "word %#x", (unsigned)seen_word);
	lockw = 0;

	/* PTHREAD_PRIO_INHERIT mutexes under contention. */
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(&pim, &ma);
	pthread_t ts[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&ts[i], NULL, pi_adder, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(ts[i], NULL);
	EXPECT_EQ("prio_inherit_mutex_counts", counter, 80000);

	/* A robust PI mutex whose owner died: EOWNERDEAD, then consistent. */
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&robust_pim, &ma);
	pthread_create(&th, NULL, robust_dier, NULL);
	pthread_join(th, NULL);
	int e = pthread_mutex_lock(&robust_pim);
	CHECKF("robust_pi_eownerdead", e == EOWNERDEAD, "got %s", h_errname(e));
	EXPECT_EQ("robust_pi_consistent", pthread_mutex_consistent(&robust_pim), 0);
	EXPECT_EQ("robust_pi_unlock", pthread_mutex_unlock(&robust_pim), 0);
	EXPECT_EQ("robust_pi_relock", pthread_mutex_lock(&robust_pim), 0);
	pthread_mutex_unlock(&robust_pim);

	/* Requeue-PI: argument errors. */
	condw = 5;
	pilock = 0;
	EXPECT_ERR("cmp_requeue_pi_nr_wake_2_einval",
		   fx((uint32_t *)&condw, FUTEX_CMP_REQUEUE_PI, 2, (void *)1, (uint32_t *)&pilock, 5), EINVAL);
	EXPECT_ERR("cmp_requeue_pi_same_futex_einval",
		   fx((uint32_t *)&condw, FUTEX_CMP_REQUEUE_PI, 1, (void *)1, (uint32_t *)&condw, 5), EINVAL);
	EXPECT_ERR("cmp_requeue_pi_val3_mismatch_eagain",
		   fx((uint32_t *)&condw, FUTEX_CMP_REQUEUE_PI, 1, (void *)1, (uint32_t *)&pilock, 6), EAGAIN);
	EXPECT_ERR("wait_requeue_pi_val_mismatch_eagain",
		   fx((uint32_t *)&condw, FUTEX_WAIT_REQUEUE_PI, 4, NULL, (uint32_t *)&pilock, 0), EAGAIN);
	EXPECT_ERR("wait_requeue_pi_same_futex_einval",
		   fx((uint32_t *)&condw, FUTEX_WAIT_REQUEUE_PI, 5, NULL, (uint32_t *)&condw, 0), EINVAL);
	EXPECT_EQ("cmp_requeue_pi_no_waiters_zero",
		  fx((uint32_t *)&condw, FUTEX_CMP_REQUEUE_PI, 1, (void *)1, (uint32_t *)&pilock, 5), 0);

	/* Requeue-PI with the PI lock free: the waiter is woken owning it. */
	condw = 0;
	pilock = 0;
	thr_ret = -2;
	pthread_create(&th, NULL, requeue_waiter, NULL);
	long n = 0;
	for (int i = 0; i < 5000 && n == 0; i++) {
		n = fx((uint32_t *)&condw, FUTEX_CMP_REQUEUE_PI, 1, (void *)1, (uint32_t *)&pilock, 0);
		if (n == 0)
			usleep(1000);
	}
	pthread_join(th, NULL);
	EXPECT_EQ("requeue_pi_free_lock_wakes_one", n, 1);
	CHECKF("requeue_pi_waiter_returns_0", thr_ret == 0, "ret %ld errno %d", (long)thr_ret, (int)thr_errno);
	CHECKF("requeue_pi_waiter_owned_lock", (seen_word & FUTEX_TID_MASK) != 0 && (seen_word & FUTEX_TID_MASK) != me &&
	       (seen_word & FUTEX_WAITERS), "word %#x", (unsigned)seen_word);

	/* Requeue-PI with the PI lock held: the waiter moves to it and gets
	 * it at our unlock. */
	condw = 0;
	pilock = 0;
	thr_ret = -2;
	fx((uint32_t *)&pilock, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
	pthread_create(&th, NULL, requeue_waiter, NULL);
	n = 0;
	for (int i = 0; i < 5000 && n == 0; i++) {
		n = fx((uint32_t *)&condw, FUTEX_CMP_REQUEUE_PI, 1, (void *)1, (uint32_t *)&pilock, 0);
		if (n == 0)
			usleep(1000);
	}
	EXPECT_EQ("requeue_pi_held_lock_requeues_one", n, 1);
	CHECKF("requeue_pi_sets_waiters", atomic_load(&pilock) & FUTEX_WAITERS, "word %#x", (unsigned)atomic_load(&pilock));
	EXPECT_OK("requeue_pi_unlock_hands_over", fx((uint32_t *)&pilock, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
	pthread_join(th, NULL);
	CHECKF("requeued_waiter_returns_0", thr_ret == 0, "ret %ld errno %d", (long)thr_ret, (int)thr_errno);
	CHECKF("requeued_waiter_owned_lock", (seen_word & FUTEX_TID_MASK) != 0 && (seen_word & FUTEX_TID_MASK) != me &&
	       (seen_word & FUTEX_WAITERS), "word %#x", (unsigned)seen_word);
	EXPECT_EQ("pilock_free_at_end", atomic_load(&pilock), 0);
	return 0;
}
