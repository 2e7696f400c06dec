/*===- threadpool.c - the runtime's thread pool -----------------------------===*/
#include "threadpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A loop's iterations are split into one contiguous range per thread, its
 * slot. Each thread runs its own range in a few pieces (claims on its own
 * slot's cursor, a cache line no one else touches while it works), then
 * takes halves of what is left in the others' slots: a thread that wakes
 * late or runs slow (another tenant on its core) leaves its remainder to
 * the others, and a caller whose workers sleep runs the loop alone rather
 * than wait for them to wake. A cursor holds the loop's generation in its
 * high bits and the next unclaimed offset in the low ones, so a claim (a
 * compare-and-swap) fails once its loop is no longer the current one. */
enum { OFFSET_BITS = 32, PIECES = 4 };
#define OFFSET_MASK ((UINT64_C(1) << OFFSET_BITS) - 1)
/* A cursor no claim matches: generation 0 is never a loop's. */
#define CLOSED OFFSET_MASK

typedef struct {
  uint64_t cursor; /* generation << OFFSET_BITS | next offset */
  int64_t end;     /* the range's end offset */
  int64_t piece;   /* the owner's claims */
  int64_t done;    /* iterations of this range run */
  char pad[32];
} slot_t;

struct tern_pool {
  int32_t threads; /* including the caller */
  pthread_t *workers;
  slot_t *slots; /* one per thread, cache-line aligned */
  pthread_mutex_t submit; /* one loop at a time */
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  uint64_t generation; /* bumped per loop; workers wait for a new one */
  int stop;
  /* The current loop (written under `lock` before its generation). */
  tern_task_fn fn;
  void *ctx;
  int64_t lo;
  int waiting; /* the caller sleeps on `done` */
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

/* tern-runtime-test builds the pool with TERN_POOL_STRESS: a pause while a
 * loop's slots are half set up widens the window that threads late from the
 * last loop race against, so a race there fails the test every run. */
#ifdef TERN_POOL_STRESS
#define STRESS_PAUSE()                                                         \
  for (int pause_ = 0; pause_ < 200; ++pause_)                                 \
  relax()
#else
#define STRESS_PAUSE() ((void)0)
#endif

/* Claims the next piece of `slot` for loop `tag`: the owner's piece size,
 * or half of what is left when stealing. */
static int claim(slot_t *slot, uint64_t tag, int steal, int64_t *a, int64_t *b) {
  for (;;) {
    uint64_t cur = __atomic_load_n(&slot->cursor, __ATOMIC_ACQUIRE);
    if ((cur & ~OFFSET_MASK) != tag)
      return 0;
    /* Acquire: a new loop's `end` comes with its closing of the cursor, so
     * the compare-and-swap of a late thread that read it fails. */
    int64_t offset = (int64_t)(cur & OFFSET_MASK), end = __atomic_load_n(&slot->end, __ATOMIC_ACQUIRE);
    if (offset >= end)
      return 0;
    int64_t take = steal ? (end - offset + 1) / 2 : __atomic_load_n(&slot->piece, __ATOMIC_RELAXED);
    if (take > end - offset)
      take = end - offset;
    if (__atomic_compare_exchange_n(&slot->cursor, &cur, cur + (uint64_t)take, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      *a = offset;
      *b = offset + take;
      return 1;
    }
  }
}

static void run_slot(tern_pool *p, slot_t *slot, uint64_t tag, int steal, tern_task_fn fn, void *ctx, int64_t lo) {
  int64_t a, b;
  while (claim(slot, tag, steal, &a, &b)) {
    fn(ctx, lo + a, lo + b);
    __atomic_add_fetch(&slot->done, b - a, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&p->waiting, __ATOMIC_SEQ_CST)) {
      pthread_mutex_lock(&p->lock);
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->lock);
    }
  }
}

/* Runs loop `generation` as thread `self`: its own slot, then the others'. */
static void participate(tern_pool *p, uint64_t generation, int32_t self, tern_task_fn fn, void *ctx, int64_t lo) {
  uint64_t tag = (generation << OFFSET_BITS) & ~OFFSET_MASK;
  run_slot(p, &p->slots[self], tag, 0, fn, ctx, lo);
  for (int32_t k = 1; k < p->threads; ++k)
    run_slot(p, &p->slots[(self + k) % p->threads], tag, 1, fn, ctx, lo);
}

static int64_t finished(const tern_pool *p) {
  int64_t sum = 0;
  for (int32_t i = 0; i < p->threads; ++i)
    sum += __atomic_load_n(&p->slots[i].done, __ATOMIC_SEQ_CST);
  return sum;
}

static void *worker(void *arg) {
  tern_pool *p = ((void **)arg)[0];
  int32_t self = (int32_t)(intptr_t)((void **)arg)[1];
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
    tern_task_fn fn = p->fn;
    void *ctx = p->ctx;
    int64_t lo = p->lo;
    pthread_mutex_unlock(&p->lock);
    /* A loop that already ended (all claimed) fails every claim. */
    participate(p, seen, self, fn, ctx, lo);
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
  p->slots = aligned_alloc(64, (size_t)p->threads * sizeof(slot_t));
  if (!p->slots) {
    free(p);
    return NULL;
  }
  memset(p->slots, 0, (size_t)p->threads * sizeof(slot_t));
  if (p->threads > 1) {
    /* A task keeps its tiles' temporaries on its stack (up to 256 KB each:
     * an attention tile's scores, a band of an expanded map): the workers
     * get TERN_TASK_STACK bytes whatever the platform's default (musl's is
     * 128 KB). */
    pthread_attr_t attr;
    int have_attr = pthread_attr_init(&attr) == 0;
    size_t size = 0;
    if (have_attr && (pthread_attr_getstacksize(&attr, &size) != 0 || size < TERN_TASK_STACK))
      pthread_attr_setstacksize(&attr, TERN_TASK_STACK);
    p->workers = calloc((size_t)p->threads - 1, sizeof(pthread_t));
    for (int32_t i = 1; p->workers && i < p->threads; ++i) {
      void **arg = malloc(2 * sizeof(void *));
      if (!arg) {
        p->threads = i;
        break;
      }
      arg[0] = p;
      arg[1] = (void *)(intptr_t)i;
      if (pthread_create(&p->workers[i - 1], have_attr ? &attr : NULL, worker, arg) != 0) {
        free(arg);
        p->threads = i;
        break;
      }
    }
    if (!p->workers)
      p->threads = 1;
    if (have_attr)
      pthread_attr_destroy(&attr);
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
  free(p->slots);
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
  uint64_t generation = p->generation + 1, tag = (generation << OFFSET_BITS) & ~OFFSET_MASK;
  int32_t t = p->threads;
  for (int32_t i = 0; i < t; ++i) {
    slot_t *slot = &p->slots[i];
    int64_t from = n * i / t, to = n * (i + 1) / t, piece = (to - from + PIECES - 1) / PIECES;
    /* Close the slot before its new end is written: a thread late from the
     * last loop may hold that loop's cursor and read the new end, and its
     * claim would then succeed on the old cursor and run the last loop's
     * function on iterations of a range it never had. */
    __atomic_store_n(&slot->cursor, CLOSED, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->end, to, __ATOMIC_RELEASE);
    STRESS_PAUSE();
    __atomic_store_n(&slot->piece, piece < 1 ? 1 : piece, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->cursor, tag | (uint64_t)from, __ATOMIC_RELEASE);
  }
  __atomic_store_n(&p->generation, generation, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  participate(p, generation, 0, fn, ctx, lo);
  for (int i = 0; i < SPIN && finished(p) < n; ++i)
    relax();
  if (finished(p) < n) {
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->waiting, 1, __ATOMIC_SEQ_CST);
    while (finished(p) < n)
      pthread_cond_wait(&p->done, &p->lock);
    __atomic_store_n(&p->waiting, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&p->lock);
  }
  pthread_mutex_unlock(&p->submit);
}
