// bench/bandwidth.c - this machine's read bandwidth from memory, 1 and 2
// threads: each thread sums its share of a 512 MiB buffer with AVX-512
// loads (AVX where the CPU has no AVX-512; 4 independent accumulators, 256
// bytes a step either way), five times.
//
//   clang-22 -O2 -march=native -pthread bench/bandwidth.c -o /tmp/bandwidth
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
  float s;
#ifdef __AVX512F__
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < per; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p + i)); a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p + i + 32)); a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p + i + 48));
  }
  s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
#else
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < per; i += 64) {
    a0 = _mm256_add_ps(a0, _mm256_add_ps(_mm256_loadu_ps(p + i), _mm256_loadu_ps(p + i + 8)));
    a1 = _mm256_add_ps(a1, _mm256_add_ps(_mm256_loadu_ps(p + i + 16), _mm256_loadu_ps(p + i + 24)));
    a2 = _mm256_add_ps(a2, _mm256_add_ps(_mm256_loadu_ps(p + i + 32), _mm256_loadu_ps(p + i + 40)));
    a3 = _mm256_add_ps(a3, _mm256_add_ps(_mm256_loadu_ps(p + i + 48), _mm256_loadu_ps(p + i + 56)));
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  s = lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
#endif
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
