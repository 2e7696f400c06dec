/*===- threadpool.c - the runtime's thread pool -----------------------------===*/
#include "threadpool.h"

#include <pthread.h>
#include <stdlib.h>

/* The cursor of the current loop: its generation in the high bits, the next
 * unclaimed iteration (relative to lo) in the low ones, so that a claim (a
 * compare-and-swap) fails when the loop it read is no longer the current one. */
enum { OFFSET_BITS = 32 };
#define OFFSET_MASK ((UINT64_C(1) << OFFSET_BITS) - 1)

struct tern_pool {
  int32_t threads; /* including the caller */
  pthread_t *workers;
  pthread_mutex_t submit; /* one loop at a time */
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  uint64_t generation; /* bumped per loop; workers wait for a new one */
  int stop;
  /* The current loop (written under `lock` before its generation). */
  tern_task_fn fn;
  void *ctx;
  int64_t lo, n;
  uint64_t cursor;  /* generation << OFFSET_BITS | next offset */
  int64_t finished; /* iterations run */
  int waiting;      /* the caller sleeps on `done` */
};

/* Polls before sleeping: the generated code runs its parallel loops in quick
 * succession, and a condition-variable wake-up costs more than a small loop. */
enum { SPIN = 4000 };

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Claims and runs chunks of loop `generation` until none is left: guided
 * chunks (a 2 * threads-th of what is left, at least 1), so that a thread
 * that starts late or runs slow (another tenant on its core) leaves less
 * for the others to wait on, while the first chunks stay long and
 * contiguous. */
static void participate(tern_pool *p, uint64_t generation, tern_task_fn fn, void *ctx, int64_t lo, int64_t n) {
  uint64_t tag = (generation << OFFSET_BITS) & ~OFFSET_MASK;
  for (;;) {
    uint64_t cur = __atomic_load_n(&p->cursor, __ATOMIC_ACQUIRE);
    if ((cur & ~OFFSET_MASK) != tag)
      return;
    int64_t offset = (int64_t)(cur & OFFSET_MASK);
    if (offset >= n)
      return;
    int64_t take = (n - offset) / (2 * p->threads);
    if (take < 1)
      take = 1;
    if (!__atomic_compare_exchange_n(&p->cursor, &cur, cur + (uint64_t)take, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      continue;
    fn(ctx, lo + offset, lo + offset + take);
    if (__atomic_add_fetch(&p->finished, take, __ATOMIC_ACQ_REL) == n) {
      pthread_mutex_lock(&p->lock);
      if (p->waiting)
        pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->lock);
    }
  }
}

static void *worker(void *arg) {
  tern_pool *p = arg;
  uint64_t seen = 0;
  for (;;) {
    for (int i = 0; i < SPIN; ++i) {
      if (__atomic_load_n(&p->generation, __ATOMIC_ACQUIRE) != seen || __atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
        break;
      relax();
    }
    pthread_mutex_lock(&p->lock);
    while (!p->stop && p->generation == seen)
      pthread_cond_wait(&p->wake, &p->lock);
    if (p->stop) {
      pthread_mutex_unlock(&p->lock);
      break;
    }
    seen = p->generation;
    tern_task_fn fn = p->fn;
    void *ctx = p->ctx;
    int64_t lo = p->lo, n = p->n;
    pthread_mutex_unlock(&p->lock);
    /* A loop that already ended (all claimed) fails every claim. */
    participate(p, seen, fn, ctx, lo, n);
  }
  return NULL;
}

tern_pool *tern_pool_create(int32_t threads) {
  tern_pool *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->threads = threads < 1 ? 1 : threads;
  pthread_mutex_init(&p->submit, NULL);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  if (p->threads > 1) {
    p->workers = calloc((size_t)p->threads - 1, sizeof(pthread_t));
    for (int32_t i = 1; p->workers && i < p->threads; ++i) {
      if (pthread_create(&p->workers[i - 1], NULL, worker, p) != 0) {
        p->threads = i;
        break;
      }
    }
    if (!p->workers)
      p->threads = 1;
  }
  return p;
}

void tern_pool_destroy(tern_pool *p) {
  if (!p)
    return;
  pthread_mutex_lock(&p->lock);
  __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  for (int32_t i = 1; i < p->threads; ++i)
    pthread_join(p->workers[i - 1], NULL);
  free(p->workers);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  pthread_mutex_destroy(&p->lock);
  pthread_mutex_destroy(&p->submit);
  free(p);
}

int32_t tern_pool_threads(const tern_pool *p) { return p ? p->threads : 1; }

void tern_pool_parallel_for(void *pool, tern_task_fn fn, void *ctx, int64_t lo, int64_t hi) {
  tern_pool *p = pool;
  if (hi <= lo)
    return;
  int64_t n = hi - lo;
  if (!p || p->threads == 1 || n == 1 || (uint64_t)n > OFFSET_MASK || pthread_mutex_trylock(&p->submit) != 0) {
    fn(ctx, lo, hi);
    return;
  }
  pthread_mutex_lock(&p->lock);
  p->fn = fn;
  p->ctx = ctx;
  p->lo = lo;
  p->n = n;
  uint64_t generation = p->generation + 1;
  __atomic_store_n(&p->finished, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&p->cursor, (generation << OFFSET_BITS) & ~OFFSET_MASK, __ATOMIC_RELEASE);
  __atomic_store_n(&p->generation, generation, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  /* The caller claims chunks too: with the workers asleep it runs the whole
   * loop rather than wait for them to wake. */
  participate(p, generation, fn, ctx, lo, n);
  for (int i = 0; i < SPIN && __atomic_load_n(&p->finished, __ATOMIC_ACQUIRE) < n; ++i)
    relax();
  pthread_mutex_lock(&p->lock);
  p->waiting = 1;
  while (__atomic_load_n(&p->finished, __ATOMIC_ACQUIRE) < n)
    pthread_cond_wait(&p->done, &p->lock);
  p->waiting = 0;
  pthread_mutex_unlock(&p->lock);
  pthread_mutex_unlock(&p->submit);
}
