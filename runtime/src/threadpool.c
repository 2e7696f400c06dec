/*===- threadpool.c - the runtime's thread pool -----------------------------===*/
#include "threadpool.h"

#include <pthread.h>
#include <stdlib.h>

struct tern_pool {
  int32_t threads; /* including the caller */
  pthread_t *workers;
  pthread_mutex_t submit; /* one loop at a time */
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  uint64_t generation; /* bumped per loop; workers wait for a new one */
  int stop;
  /* The current loop. */
  tern_task_fn fn;
  void *ctx;
  int64_t lo, hi;
  int32_t chunks, pending;
};

static void chunk(const tern_pool *p, int32_t i, int64_t *a, int64_t *b) {
  int64_t n = p->hi - p->lo, q = n / p->chunks, r = n % p->chunks;
  *a = p->lo + i * q + (i < r ? i : r);
  *b = *a + q + (i < r ? 1 : 0);
}

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

static void *worker(void *arg) {
  tern_pool *p = ((void **)arg)[0];
  int32_t index = (int32_t)(intptr_t)((void **)arg)[1];
  free(arg);
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
    if (index >= p->chunks) {
      pthread_mutex_unlock(&p->lock);
      continue;
    }
    int64_t a, b;
    chunk(p, index, &a, &b);
    tern_task_fn fn = p->fn;
    void *ctx = p->ctx;
    pthread_mutex_unlock(&p->lock);
    if (a < b)
      fn(ctx, a, b);
    pthread_mutex_lock(&p->lock);
    if (__atomic_sub_fetch(&p->pending, 1, __ATOMIC_ACQ_REL) == 0)
      pthread_cond_signal(&p->done);
    pthread_mutex_unlock(&p->lock);
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
      void **arg = malloc(2 * sizeof(void *));
      if (!arg) {
        p->threads = i;
        break;
      }
      arg[0] = p;
      arg[1] = (void *)(intptr_t)i;
      if (pthread_create(&p->workers[i - 1], NULL, worker, arg) != 0) {
        free(arg);
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
  if (!p || p->threads == 1 || n == 1 || pthread_mutex_trylock(&p->submit) != 0) {
    fn(ctx, lo, hi);
    return;
  }
  pthread_mutex_lock(&p->lock);
  p->fn = fn;
  p->ctx = ctx;
  p->lo = lo;
  p->hi = hi;
  p->chunks = n < p->threads ? (int32_t)n : p->threads;
  __atomic_store_n(&p->pending, p->chunks - 1, __ATOMIC_RELEASE); /* the workers' chunks; the caller runs 0 */
  __atomic_store_n(&p->generation, p->generation + 1, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&p->wake);
  int64_t a, b;
  chunk(p, 0, &a, &b);
  pthread_mutex_unlock(&p->lock);
  fn(ctx, a, b);
  for (int i = 0; i < SPIN && __atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) > 0; ++i)
    relax();
  pthread_mutex_lock(&p->lock);
  while (__atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) > 0)
    pthread_cond_wait(&p->done, &p->lock);
  pthread_mutex_unlock(&p->lock);
  pthread_mutex_unlock(&p->submit);
}
