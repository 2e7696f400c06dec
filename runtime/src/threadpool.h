/*===- threadpool.h - the runtime's thread pool -----------------------------===
 *
 * One pool per opened model: `threads - 1` workers plus the calling thread.
 * parallel_for gives each thread a contiguous range of [lo, hi), which it
 * runs in a few pieces; a thread done with its own takes halves of what
 * the others have left: one that wakes late or runs slow (another tenant
 * on its core) holds no one up, and a caller whose workers sleep runs the
 * loop alone rather than wait for them to wake. A pool runs one loop at a
 * time; a run on another thread that finds it busy runs its loop inline,
 * so concurrent runs stay correct.
 *===----------------------------------------------------------------------===*/
#ifndef TERN_RUNTIME_THREADPOOL_H
#define TERN_RUNTIME_THREADPOOL_H

#include <stdint.h>

/* The stack each worker gets at least: a task keeps its tiles' temporaries
 * there (the compiler allows 256 KB per buffer, a few per task). The thread
 * that calls tern_model_run runs tasks too and needs as much. */
#define TERN_TASK_STACK ((size_t)4 << 20)

typedef void (*tern_task_fn)(void *ctx, int64_t lo, int64_t hi);
typedef struct tern_pool tern_pool;

tern_pool *tern_pool_create(int32_t threads);
void tern_pool_destroy(tern_pool *pool);
int32_t tern_pool_threads(const tern_pool *pool);
/* Runs fn(ctx, a, b) over sub-ranges covering [lo, hi); returns when all ran. */
void tern_pool_parallel_for(void *pool, tern_task_fn fn, void *ctx, int64_t lo, int64_t hi);

#endif
