/*===- runtime_test.c - the runtime's behaviour on good and bad input -----===
 *
 *   tern-runtime-test ADD2.so CHAIN.so CHAIN_SEQ.so
 * where ADD2.so is test/Runtime/Inputs/add2.onnxtext compiled by ternc
 * (z = x + y, both float[batch, 4]) and CHAIN.so matmul-chain.onnxtext
 * (z = relu(x w) w, x float[batch, 4]: a temporary per image, in the arena
 * the runtime sizes per run), CHAIN_SEQ.so matmul-chain-seq.onnxtext (the
 * same on x float[batch, seq, 4]: the arena scales with batch x seq). Built with AddressSanitizer and
 * UndefinedBehaviorSanitizer: a wrong input must give an error status and a
 * message, never a crash or an out-of-bounds read.
 *===----------------------------------------------------------------------===*/
#include "tern/tern.h"
#include "../src/threadpool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

/* Expects an error whose message contains `needle`. */
static void expect_error(tern_status s, const char *needle) {
  CHECK(s == TERN_ERROR);
  if (s == TERN_ERROR && !strstr(tern_last_error(), needle)) {
    fprintf(stderr, "error '%s' lacks '%s'\n", tern_last_error(), needle);
    ++failures;
  } else if (s == TERN_ERROR) {
    printf("expected error: %s\n", tern_last_error());
  }
}

static tern_tensor make(float *data, int64_t batch, int64_t cols) {
  tern_tensor t = {TERN_FLOAT, 2, {batch, cols}, data, (size_t)(batch * cols) * sizeof(float), NULL};
  return t;
}

static tern_model *model;

static void *worker(void *arg) {
  long id = (long)arg;
  float x[3 * 4], y[3 * 4], z[3 * 4];
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 12; ++i) {
      x[i] = (float)(id * 1000 + round + i);
      y[i] = (float)i;
    }
    tern_tensor in[2] = {make(x, 3, 4), make(y, 3, 4)};
    tern_tensor out = make(z, 3, 4);
    if (tern_model_run(model, in, 2, &out, 1) != TERN_OK)
      return (void *)1;
    for (int i = 0; i < 12; ++i)
      if (z[i] != x[i] + y[i])
        return (void *)1;
  }
  return NULL;
}

/* matmul-chain.onnxtext's weights and its result for row `x`. */
static const float chain_w[16] = {1.0f, 0.5f, 0.0f, -1.0f, 2.0f, 1.0f, 0.25f, 0.0f,
                                  -0.5f, 0.0f, 1.0f, 3.0f, 0.0f, -2.0f, 0.5f, 1.0f};
static void chain_row(const float *x, float *z) {
  float t[4];
  for (int j = 0; j < 4; ++j) {
    t[j] = 0;
    for (int k = 0; k < 4; ++k)
      t[j] += x[k] * chain_w[k * 4 + j];
    t[j] = t[j] > 0 ? t[j] : 0;
  }
  for (int j = 0; j < 4; ++j) {
    z[j] = 0;
    for (int k = 0; k < 4; ++k)
      z[j] += t[k] * chain_w[k * 4 + j];
  }
}

/* Runs the chain on `batch` rows (x float[batch, 4]), or on batch x seq
 * rows when `seq` is not negative (x float[batch, seq, 4]); the number of
 * wrong outputs. */
static int run_chain_seq(tern_model *m, int64_t batch, int64_t seq, int seed) {
  int64_t rows = seq >= 0 ? batch * seq : batch;
  float *x = malloc((size_t)(rows + 1) * 4 * sizeof(float));
  float *z = malloc((size_t)(rows + 1) * 4 * sizeof(float));
  int wrong = 0;
  for (int64_t i = 0; i < rows * 4; ++i)
    x[i] = (float)((i * 7 + seed) % 13) - 6.0f;
  tern_tensor in = make(x, batch, 4), out = make(z, batch, 4);
  if (seq >= 0) {
    tern_tensor t = {TERN_FLOAT, 3, {batch, seq, 4}, x, (size_t)(rows * 4) * sizeof(float), NULL};
    tern_tensor u = {TERN_FLOAT, 3, {batch, seq, 4}, z, (size_t)(rows * 4) * sizeof(float), NULL};
    in = t;
    out = u;
  }
  if (tern_model_run(m, &in, 1, &out, 1) != TERN_OK) {
    wrong = 1;
  } else {
    for (int64_t r = 0; r < rows; ++r) {
      float want[4];
      chain_row(x + r * 4, want);
      for (int j = 0; j < 4; ++j) {
        float d = z[r * 4 + j] - want[j];
        wrong += d > 1e-4f || d < -1e-4f;
      }
    }
  }
  free(x);
  free(z);
  return wrong;
}

static int run_chain(tern_model *m, int64_t batch, int seed) { return run_chain_seq(m, batch, -1, seed); }

static tern_model *chain;

static void *chain_worker(void *arg) {
  long id = (long)arg;
  for (int round = 0; round < 100; ++round)
    if (run_chain(chain, 1 + (id * 37 + round * 11) % 50, round))
      return (void *)1;
  return NULL;
}

/* Runs `fn` on four threads at once (each given its number); how many
 * returned non-NULL. */
static int in_four_threads(void *(*fn)(void *)) {
  pthread_t threads[4];
  for (long i = 0; i < 4; ++i)
    pthread_create(&threads[i], NULL, fn, (void *)i);
  int failed = 0;
  for (int i = 0; i < 4; ++i) {
    void *r;
    pthread_join(threads[i], &r);
    failed += r != NULL;
  }
  return failed;
}

/* The pool's loops: each iteration of [lo, hi) runs exactly once. */
struct coverage {
  int32_t *hits;
  int64_t base;
};

static void count(void *ctx, int64_t a, int64_t b) {
  struct coverage *c = ctx;
  for (int64_t i = a; i < b; ++i)
    __atomic_add_fetch(&c->hits[i - c->base], 1, __ATOMIC_RELAXED);
}

static void check_pool(int32_t threads, int loops) {
  tern_pool *pool = tern_pool_create(threads);
  CHECK(pool && tern_pool_threads(pool) == threads);
  enum { MAX = 1000 };
  static int32_t hits[MAX];
  int wrong = 0;
  for (int loop = 0; loop < loops; ++loop) {
    /* Sizes from 1 to MAX, bases that are not 0, and now and then a pause
     * long enough for the workers to go to sleep between loops. */
    int64_t n = 1 + (loop * 7919) % MAX, base = loop % 5;
    memset(hits, 0, sizeof hits);
    struct coverage c = {hits, base};
    if (loop % 2000 == 1999) {
      struct timespec pause = {0, 2000000};
      nanosleep(&pause, NULL);
    }
    tern_pool_parallel_for(pool, count, &c, base, base + n);
    for (int64_t i = 0; i < n; ++i)
      wrong += hits[i] != 1;
  }
  CHECK(wrong == 0);
  tern_pool_destroy(pool);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: tern-runtime-test ADD2.so CHAIN.so CHAIN_SEQ.so\n");
    return 2;
  }
  tern_model *none = NULL;
  expect_error(tern_model_open("/nonexistent/model.so", NULL, &none), "cannot load");
  CHECK(none == NULL);
  expect_error(tern_model_open("libm.so.6", NULL, &none), "not a model compiled by ternc");

  CHECK(tern_model_open(argv[1], NULL, &model) == TERN_OK);
  if (!model)
    return 1;
  CHECK(tern_model_num_inputs(model) == 2 && tern_model_num_outputs(model) == 1);
  tern_tensor_info info;
  CHECK(tern_model_input_info(model, 0, &info) == TERN_OK);
  CHECK(!strcmp(info.name, "x") && info.rank == 2 && info.dims[0] == -1 && info.dims[1] == 4);
  CHECK(info.dim_names && !strcmp(info.dim_names[0], "batch"));
  expect_error(tern_model_input_info(model, 2, &info), "out of range");

  float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8] = {10, 20, 30, 40, 50, 60, 70, 80}, z[8];
  tern_tensor in[2] = {make(x, 2, 4), make(y, 2, 4)};

  /* A good run, into a caller buffer and into a runtime-allocated one. */
  tern_tensor out = make(z, 2, 4);
  CHECK(tern_model_run(model, in, 2, &out, 1) == TERN_OK);
  CHECK(z[0] == 11 && z[7] == 88 && out.dims[0] == 2 && out.dims[1] == 4);
  tern_tensor fresh = {0};
  CHECK(tern_model_run(model, in, 2, &fresh, 1) == TERN_OK);
  CHECK(fresh.data && fresh.owner && ((float *)fresh.data)[5] == 66 && fresh.size_bytes == 32);
  tern_tensor_release(&fresh);
  CHECK(fresh.data == NULL);

  /* Wrong inputs. */
  expect_error(tern_model_run(model, in, 1, &out, 1), "takes 2 inputs, 1 given");
  expect_error(tern_model_run(model, NULL, 2, &out, 1), "inputs is NULL");
  tern_tensor bad[2] = {in[0], in[1]};
  bad[0].dtype = TERN_INT64;
  expect_error(tern_model_run(model, bad, 2, &out, 1), "input 'x': expected element type float32, got int64");
  bad[0] = in[0];
  bad[0].rank = 3;
  bad[0].dims[2] = 1;
  expect_error(tern_model_run(model, bad, 2, &out, 1), "input 'x': expected shape [?,4] (rank 2)");
  bad[0] = in[0];
  bad[0].dims[1] = 5;
  expect_error(tern_model_run(model, bad, 2, &out, 1), "input 'x': expected shape [?,4], got [2,5]");
  bad[0] = in[0];
  bad[0].rank = 99;
  expect_error(tern_model_run(model, bad, 2, &out, 1), "rank 99 is out of range");
  bad[0] = in[0];
  bad[0].dims[0] = -3;
  expect_error(tern_model_run(model, bad, 2, &out, 1), "got [-3,4]");
  bad[0] = in[0];
  bad[0].data = NULL;
  expect_error(tern_model_run(model, bad, 2, &out, 1), "input 'x': data is NULL");
  bad[0] = in[0];
  bad[0].size_bytes = 31;
  expect_error(tern_model_run(model, bad, 2, &out, 1), "needs 32 bytes, the buffer has 31");
  bad[0] = in[0];
  bad[1].dims[0] = 1;
  bad[1].size_bytes = 16;
  expect_error(tern_model_run(model, bad, 2, &out, 1), "dim 0 ('batch') is 1 but input 'x' has 2");
  bad[1] = in[1];
  bad[0].dims[0] = (int64_t)1 << 62;
  expect_error(tern_model_run(model, bad, 2, &out, 1), "input 'x'");
  tern_tensor small = make(z, 1, 4);
  expect_error(tern_model_run(model, in, 2, &small, 1), "output 'z': shape [2,4] needs 32 bytes, the buffer has 16");
  expect_error(tern_model_run(model, in, 2, &out, 2), "has 1 outputs, 2 given");
  expect_error(tern_model_run(NULL, in, 2, &out, 1), "model is NULL");

  /* An empty batch is a valid input. */
  tern_tensor empty[2] = {make(NULL, 0, 4), make(NULL, 0, 4)};
  tern_tensor eout = {0};
  CHECK(tern_model_run(model, empty, 2, &eout, 1) == TERN_OK);
  CHECK(eout.dims[0] == 0 && eout.dims[1] == 4);
  tern_tensor_release(&eout);

  /* Several threads at once. */
  CHECK(in_four_threads(worker) == 0);

  tern_model_close(model);
  tern_model_close(NULL);

  /* The pool alone: every iteration once, over many loops of many sizes. */
  check_pool(2, 20000);
  check_pool(3, 20000);
  /* More threads than cores: workers preempted in the middle of a claim, late
   * for the next loop. (A late claim once read the next loop's range end
   * against its own loop's cursor and ran its loop's function on iterations
   * of the next; with the pool's stress pause, every run caught it.) */
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  check_pool((int32_t)(cores < 2 ? 4 : 2 * cores), 20000);

  /* Loops split across a pool of 3 threads give the same sums. */
  tern_options three = {3};
  CHECK(tern_model_open(argv[1], &three, &model) == TERN_OK);
  CHECK(tern_model_num_threads(model) == 3);
  enum { N = 5000 };
  static float bx[N * 4], by[N * 4], bz[N * 4];
  for (int i = 0; i < N * 4; ++i) {
    bx[i] = (float)i;
    by[i] = (float)(2 * i);
  }
  tern_tensor big[2] = {make(bx, N, 4), make(by, N, 4)};
  tern_tensor bout = make(bz, N, 4);
  CHECK(tern_model_run(model, big, 2, &bout, 1) == TERN_OK);
  int wrong = 0;
  for (int i = 0; i < N * 4; ++i)
    wrong += bz[i] != (float)(3 * i);
  CHECK(wrong == 0);
  tern_model_close(model);

  /* Working memory that scales with the batch: the arena grows for a larger
   * batch, is reused for a smaller one, and runs from several threads with
   * different batches each get their own. */
  CHECK(tern_model_open(argv[2], NULL, &chain) == TERN_OK);
  if (chain) {
    static const int64_t batches[] = {1, 7, 3, 64, 0, 2, 300, 5};
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; ++i)
      CHECK(run_chain(chain, batches[i], (int)i) == 0);
    CHECK(in_four_threads(chain_worker) == 0);
    tern_model_close(chain);
  }
  /* Scaling with two dims (batch x sequence). */
  CHECK(tern_model_open(argv[3], NULL, &chain) == TERN_OK);
  if (chain) {
    static const int64_t shapes[][2] = {{1, 1}, {1, 128}, {3, 5}, {2, 200}, {0, 7}, {4, 0}, {1, 3}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; ++i) {
      int wrong = run_chain_seq(chain, shapes[i][0], shapes[i][1], (int)i);
      if (wrong)
        fprintf(stderr, "chain on [%lld, %lld, 4]: %d wrong (%s)\n", (long long)shapes[i][0],
                (long long)shapes[i][1], wrong, tern_last_error());
      CHECK(wrong == 0);
    }
    tern_model_close(chain);
  }
  if (failures)
    fprintf(stderr, "%d checks failed\n", failures);
  else
    printf("all runtime checks passed\n");
  return failures ? 1 : 0;
}
