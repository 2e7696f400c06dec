/*===- fake_cuda.c - a CUDA driver stand-in for testing the host side ------===
 *
 * Loaded by the runtime in place of libcuda.so.1 (TERN_LIBCUDA=path), it
 * answers the driver calls tern makes on the CPU: device memory is host
 * memory (zeroed), copies are memcpy, and a kernel launch checks its
 * arguments and is counted, not run (PTX cannot run here). So a GPU model's
 * whole host path (loading, the ABI's slots, uploads, launches, copying the
 * outputs back, freeing) runs on a machine without a GPU; with
 * TERN_FAKE_CUDA_TRACE set, a summary is printed at exit:
 *   fake-cuda: M modules loaded, L launches, A allocations, F frees, B bytes leaked
 * TERN_FAKE_CUDA_SM (default 90) is the compute capability it claims;
 * TERN_FAKE_CUDA_FAIL_LAUNCH=N makes the N-th launch (from 1) fail, to test
 * how an error on the device reaches the caller.
 *===----------------------------------------------------------------------===*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

enum { OK = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, INVALID_IMAGE = 200, NOT_FOUND = 500, LAUNCH_FAILED = 719 };

static long modules, launches, allocations, frees;
/* Stream capture: launches recorded into a graph, counted when it runs. */
static long capturing, captured, graphs, graph_launches;

/* Allocations: a size header before each block, to count what leaks. */
static long long live_bytes;

__attribute__((destructor)) static void summary(void) {
  if (getenv("TERN_FAKE_CUDA_TRACE"))
    fprintf(stderr, "fake-cuda: %ld modules loaded, %ld launches, %ld allocations, %ld frees, %lld bytes leaked\n",
            modules, launches, allocations, frees, live_bytes);
  if (getenv("TERN_FAKE_CUDA_TRACE") && graphs)
    fprintf(stderr, "fake-cuda: %ld graphs captured, %ld graph launches\n", graphs, graph_launches);
}

CUresult cuInit(unsigned flags) { return flags == 0 ? OK : INVALID_VALUE; }
CUresult cuDeviceGetCount(int *n) { *n = 1; return OK; }
CUresult cuDeviceGet(int *d, int ordinal) { *d = ordinal; return ordinal == 0 ? OK : INVALID_VALUE; }

CUresult cuDeviceGetAttribute(int *v, int attribute, int device) {
  (void)device;
  const char *sm = getenv("TERN_FAKE_CUDA_SM");
  int cc = sm && *sm ? atoi(sm) : 90;
  if (attribute == 75)
    *v = cc / 10;
  else if (attribute == 76)
    *v = cc % 10;
  else
    return INVALID_VALUE;
  return OK;
}

CUresult cuDeviceGetName(char *name, int len, int device) {
  (void)device;
  snprintf(name, (size_t)len, "tern fake GPU");
  return OK;
}

CUresult cuDevicePrimaryCtxRetain(void **ctx, int device) { (void)device; *ctx = (void *)&modules; return OK; }
CUresult cuDevicePrimaryCtxRelease_v2(int device) { (void)device; return OK; }
CUresult cuCtxSetCurrent(void *ctx) { return ctx == (void *)&modules ? OK : INVALID_VALUE; }
CUresult cuCtxSynchronize(void) { return OK; }

/* A cubin (ELF) or PTX text: anything else is an invalid image. */
CUresult cuModuleLoadDataEx(void **module, const void *image, unsigned n, int *options, void **values) {
  (void)n, (void)options, (void)values;
  const char *p = image;
  if (!p || (memcmp(p, "\x7f" "ELF", 4) != 0 && !strstr(p, ".target")))
    return INVALID_IMAGE;
  ++modules;
  *module = malloc(1);
  return OK;
}

CUresult cuModuleUnload(void *module) { free(module); return OK; }

CUresult cuModuleGetFunction(void **function, void *module, const char *name) {
  if (!module || !name || !*name)
    return NOT_FOUND;
  *function = (void *)(uintptr_t)name;
  return OK;
}

CUresult cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, void *stream, void **params, void **extra) {
  (void)shared, (void)stream, (void)extra;
  if (!function || !params || !gx || !gy || !gz || !bx || !by || !bz)
    return INVALID_VALUE;
  const char *fail = getenv("TERN_FAKE_CUDA_FAIL_LAUNCH");
  if (fail && atol(fail) == launches + 1) {
    ++launches;
    return LAUNCH_FAILED;
  }
  if (capturing)
    ++captured;
  else
    ++launches;
  return OK;
}

CUresult cuStreamCreate(void **stream, unsigned flags) {
  (void)flags;
  *stream = malloc(1);
  return OK;
}
CUresult cuStreamDestroy_v2(void *stream) { free(stream); return OK; }
CUresult cuStreamBeginCapture_v2(void *stream, int mode) {
  (void)mode;
  if (!stream || capturing)
    return INVALID_VALUE;
  capturing = 1;
  captured = 0;
  return OK;
}
CUresult cuStreamEndCapture(void *stream, void **graph) {
  if (!stream || !capturing)
    return INVALID_VALUE;
  capturing = 0;
  long *g = malloc(sizeof *g);
  *g = captured;
  *graph = g;
  ++graphs;
  return OK;
}
CUresult cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long flags) {
  (void)flags;
  long *e = malloc(sizeof *e);
  *e = *(long *)graph;
  *exec = e;
  return OK;
}
CUresult cuGraphLaunch(void *exec, void *stream) {
  (void)stream;
  launches += *(long *)exec;
  ++graph_launches;
  return OK;
}
CUresult cuGraphExecDestroy(void *exec) { free(exec); return OK; }
CUresult cuGraphDestroy(void *graph) { free(graph); return OK; }

CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
  if (!bytes)
    return INVALID_VALUE;
  size_t *block = calloc(1, bytes + 16);
  if (!block)
    return OUT_OF_MEMORY;
  block[0] = bytes;
  ++allocations;
  live_bytes += (long long)bytes;
  *p = (CUdeviceptr)(uintptr_t)((char *)block + 16);
  return OK;
}

CUresult cuMemFree_v2(CUdeviceptr p) {
  if (!p)
    return INVALID_VALUE;
  size_t *block = (size_t *)((char *)(uintptr_t)p - 16);
  live_bytes -= (long long)block[0];
  ++frees;
  free(block);
  return OK;
}

CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t bytes) {
  memcpy((void *)(uintptr_t)dst, src, bytes);
  return OK;
}

CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t bytes) {
  memcpy(dst, (const void *)(uintptr_t)src, bytes);
  return OK;
}

CUresult cuGetErrorName(CUresult r, const char **s) {
  *s = r == INVALID_IMAGE    ? "CUDA_ERROR_INVALID_IMAGE"
       : r == INVALID_VALUE  ? "CUDA_ERROR_INVALID_VALUE"
       : r == LAUNCH_FAILED  ? "CUDA_ERROR_LAUNCH_FAILED"
                             : "CUDA_ERROR";
  return OK;
}

CUresult cuGetErrorString(CUresult r, const char **s) {
  (void)r;
  *s = "reported by tern's fake CUDA driver";
  return OK;
}
