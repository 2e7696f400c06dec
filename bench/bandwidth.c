// bench/bandwidth.c - this machine's read bandwidth from memory, 1 and 2
// threads: each thread sums its share of a 512 MiB buffer with AVX-512
// loads (4 independent accumulators), five times.
//
//   clang-22 -O2 -mavx512f -pthread bench/bandwidth.c -o /tmp/bandwidth
//   /tmp/bandwidth 1; /tmp/bandwidth 2
//
// The bound of a decoding step, whose weights are read once per token.
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define N (512ul << 20)
static float *buf;
static int nthreads;
static double now() { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static void *run(void *arg) {
  long id = (long)arg; size_t n = N / sizeof(float), per = n / nthreads;
  const float *p = buf + id * per;
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < per; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p + i)); a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p + i + 32)); a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p + i + 48));
  }
  float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  return (void *)(long)(s > 1e30f);
}
int main(int argc, char **argv) {
  nthreads = argc > 1 ? atoi(argv[1]) : 1;
  buf = aligned_alloc(64, N);
  for (size_t i = 0; i < N / 4; ++i) buf[i] = 1.0f;
  for (int rep = 0; rep < 5; ++rep) {
    pthread_t t[8]; double t0 = now();
    for (long i = 0; i < nthreads; ++i) pthread_create(&t[i], 0, run, (void *)i);
    for (int i = 0; i < nthreads; ++i) pthread_join(t[i], 0);
    double dt = now() - t0;
    printf("%d threads: %.1f GB/s\n", nthreads, N / dt / 1e9);
  }
}
