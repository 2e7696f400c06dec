/*===- cuda.c - the runtime's CUDA layer, through the driver API ----------===
 *
 * libcuda.so.1 is opened with dlopen when the first GPU model is opened, and
 * only the few driver entry points below are used, so the runtime links no
 * CUDA library and CPU models never touch one. Each GPU model holds the
 * device's primary context, its weights in device memory (uploaded once),
 * a device arena for its planned temporaries, its kernel modules (loaded
 * the first time a launch needs them, cached by image) and the run's first
 * error: the model's host code calls the tern_abi_gpu table, whose
 * functions do nothing once an error is recorded.
 *
 * Two switches for finding a kernel's fault or cost: TERN_CUDA_SYNC=1 waits
 * for each kernel as it is launched, so an error names the kernel that
 * raised it; TERN_CUDA_PROFILE=1 does that and times each launch (launch
 * to completion, on the host's clock), and prints to stderr, when the model
 * is closed, the 40 most expensive kernels' time per run (=all: every
 * kernel's).
 *
 * TERN_CUDA_GRAPH=1 replays runs as a CUDA graph: the first run launches
 * its kernels one by one (and loads the modules), the second is captured
 * into a graph and launched as one, and each later run with the same input
 * sizes launches that graph instead of its hundreds of kernels (the host's
 * launch cost is most of a small model's run). The model's host code is
 * deterministic for given input shapes, so a replayed run makes the same
 * launches with the same arguments: the inputs' device buffers, the
 * weights and the arena stay put, and the device memory the run allocates
 * (its outputs) is kept for the graph and handed out again in the same
 * order. A replay whose allocations differ in number or size fails.
 *===----------------------------------------------------------------------===*/
#define _GNU_SOURCE
#include "cuda.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

tern_status tern__fail(const char *fmt, ...); /* runtime.c */

/*--- the driver API, as far as tern uses it ----------------------------------*/

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphExec_st *CUgraphExec;

enum {
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
  CU_JIT_ERROR_LOG_BUFFER = 5,
  CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
};

static struct {
  void *library;
  CUresult (*Init)(unsigned);
  CUresult (*DeviceGetCount)(int *);
  CUresult (*DeviceGet)(CUdevice *, int);
  CUresult (*DeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*DeviceGetName)(char *, int, CUdevice);
  CUresult (*DevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*DevicePrimaryCtxRelease)(CUdevice);
  CUresult (*CtxSetCurrent)(CUcontext);
  CUresult (*CtxSynchronize)(void);
  CUresult (*ModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *, void **);
  CUresult (*ModuleUnload)(CUmodule);
  CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream,
                           void **, void **);
  CUresult (*MemAlloc)(CUdeviceptr *, size_t);
  CUresult (*MemFree)(CUdeviceptr);
  CUresult (*MemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*MemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*GetErrorName)(CUresult, const char **);
  CUresult (*GetErrorString)(CUresult, const char **);
  /* CUDA graphs (TERN_CUDA_GRAPH); null when the driver lacks them. */
  CUresult (*StreamCreate)(CUstream *, unsigned);
  CUresult (*StreamDestroy)(CUstream);
  CUresult (*StreamBeginCapture)(CUstream, int);
  CUresult (*StreamEndCapture)(CUstream, CUgraph *);
  CUresult (*GraphInstantiate)(CUgraphExec *, CUgraph, unsigned long long);
  CUresult (*GraphLaunch)(CUgraphExec, CUstream);
  CUresult (*GraphExecDestroy)(CUgraphExec);
  CUresult (*GraphDestroy)(CUgraph);
} cu;

enum { CU_STREAM_CAPTURE_MODE_RELAXED = 2 };

static pthread_once_t driver_once = PTHREAD_ONCE_INIT;
static char driver_error[512];

static void load_driver(void) {
  const char *path = getenv("TERN_LIBCUDA");
  if (!path || !*path)
    path = "libcuda.so.1";
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    snprintf(driver_error, sizeof driver_error, "cannot load the CUDA driver (%s): %s", path, dlerror());
    return;
  }
  /* Required entry points, then the graph API's (optional: TERN_CUDA_GRAPH
   * is off without any of them). */
  struct {
    void **slot;
    const char *name;
    int optional;
  } symbols[] = {
      {(void **)&cu.Init, "cuInit", 0},
      {(void **)&cu.DeviceGetCount, "cuDeviceGetCount", 0},
      {(void **)&cu.DeviceGet, "cuDeviceGet", 0},
      {(void **)&cu.DeviceGetAttribute, "cuDeviceGetAttribute", 0},
      {(void **)&cu.DeviceGetName, "cuDeviceGetName", 0},
      {(void **)&cu.DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", 0},
      {(void **)&cu.DevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", 0},
      {(void **)&cu.CtxSetCurrent, "cuCtxSetCurrent", 0},
      {(void **)&cu.CtxSynchronize, "cuCtxSynchronize", 0},
      {(void **)&cu.ModuleLoadDataEx, "cuModuleLoadDataEx", 0},
      {(void **)&cu.ModuleUnload, "cuModuleUnload", 0},
      {(void **)&cu.ModuleGetFunction, "cuModuleGetFunction", 0},
      {(void **)&cu.LaunchKernel, "cuLaunchKernel", 0},
      {(void **)&cu.MemAlloc, "cuMemAlloc_v2", 0},
      {(void **)&cu.MemFree, "cuMemFree_v2", 0},
      {(void **)&cu.MemcpyHtoD, "cuMemcpyHtoD_v2", 0},
      {(void **)&cu.MemcpyDtoH, "cuMemcpyDtoH_v2", 0},
      {(void **)&cu.GetErrorName, "cuGetErrorName", 0},
      {(void **)&cu.GetErrorString, "cuGetErrorString", 0},
      {(void **)&cu.StreamCreate, "cuStreamCreate", 1},
      {(void **)&cu.StreamDestroy, "cuStreamDestroy_v2", 1},
      {(void **)&cu.StreamBeginCapture, "cuStreamBeginCapture_v2", 1},
      {(void **)&cu.StreamEndCapture, "cuStreamEndCapture", 1},
      {(void **)&cu.GraphInstantiate, "cuGraphInstantiateWithFlags", 1},
      {(void **)&cu.GraphLaunch, "cuGraphLaunch", 1},
      {(void **)&cu.GraphExecDestroy, "cuGraphExecDestroy", 1},
      {(void **)&cu.GraphDestroy, "cuGraphDestroy", 1},
  };
  const size_t count = sizeof symbols / sizeof symbols[0];
  int have_graphs = 1;
  for (size_t i = 0; i < count; ++i) {
    *symbols[i].slot = dlsym(lib, symbols[i].name);
    if (!*symbols[i].slot && symbols[i].optional) {
      have_graphs = 0;
    } else if (!*symbols[i].slot) {
      snprintf(driver_error, sizeof driver_error, "the CUDA driver %s lacks %s (too old?)", path, symbols[i].name);
      dlclose(lib);
      return;
    }
  }
  for (size_t i = 0; i < count && !have_graphs; ++i)
    if (symbols[i].optional)
      *symbols[i].slot = NULL;
  CUresult r = cu.Init(0);
  if (r != 0) {
    const char *name = "?";
    cu.GetErrorName(r, &name);
    snprintf(driver_error, sizeof driver_error, "cuInit failed: %s (no usable NVIDIA GPU or driver)", name);
    dlclose(lib);
    return;
  }
  cu.library = lib;
}

static const char *error_text(CUresult r) {
  static _Thread_local char text[256];
  const char *name = "?", *what = "";
  if (cu.GetErrorName)
    cu.GetErrorName(r, &name);
  if (cu.GetErrorString)
    cu.GetErrorString(r, &what);
  snprintf(text, sizeof text, "%s (%s)", name ? name : "?", what ? what : "");
  return text;
}

/*--- a model's device --------------------------------------------------------*/

/* A kernel's name and, under TERN_CUDA_PROFILE, its time. */
typedef struct kernel_stat {
  CUfunction function;
  char name[120];
  double seconds;
  long launches;
} kernel_stat;

typedef struct module_entry {
  const void *image;
  CUmodule module;
} module_entry;

struct tern_cuda {
  CUdevice device;
  CUcontext context;
  CUdeviceptr weights;
  CUdeviceptr arena;
  int64_t arena_size;
  pthread_mutex_t lock; /* one run at a time */
  module_entry *modules; /* open addressing on the image address */
  size_t module_capacity, module_count;
  CUdeviceptr *inputs; /* device copies of the inputs, reused across runs */
  size_t *input_capacity;
  size_t num_inputs;
  int failed;
  char error[1024];
  int sync, profile; /* TERN_CUDA_SYNC, TERN_CUDA_PROFILE */
  /* TERN_CUDA_GRAPH: runs 1 eager, 2 captured, then replayed. */
  int graph;
  CUstream stream;    /* the launches' stream (null: the legacy one) */
  int phase;          /* 0: eager, 1: capturing, 2: replaying */
  CUgraphExec exec;
  size_t *graph_input_bytes; /* the captured run's input sizes */
  size_t graph_inputs;
  CUdeviceptr *kept;         /* the captured run's allocations, in order */
  size_t *kept_bytes, kept_count, kept_capacity, kept_next;
  long runs;
  kernel_stat *kernels; /* the functions looked up, when sync or profile */
  size_t kernel_count, kernel_capacity;
};

static int env_flag(const char *name) {
  const char *v = getenv(name);
  return v && *v && strcmp(v, "0") != 0;
}

static kernel_stat *find_kernel(tern_cuda *c, CUfunction f) {
  for (size_t i = 0; i < c->kernel_count; ++i)
    if (c->kernels[i].function == f)
      return &c->kernels[i];
  return NULL;
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_time(const void *a, const void *b) {
  double x = ((const kernel_stat *)a)->seconds, y = ((const kernel_stat *)b)->seconds;
  return (x < y) - (x > y);
}

static void print_profile(tern_cuda *c) {
  if (!c->profile || !c->kernel_count || !c->runs)
    return;
  qsort(c->kernels, c->kernel_count, sizeof *c->kernels, by_time);
  double total = 0;
  long launches = 0;
  for (size_t i = 0; i < c->kernel_count; ++i) {
    total += c->kernels[i].seconds;
    launches += c->kernels[i].launches;
  }
  fprintf(stderr, "tern: GPU profile, per run (%ld runs): %.3f ms in %ld launches of %zu kernels\n", c->runs,
          1e3 * total / (double)c->runs, launches / c->runs, c->kernel_count);
  fprintf(stderr, "tern: %10s %6s %8s  %s\n", "ms/run", "%", "launches", "kernel");
  for (size_t i = 0; i < c->kernel_count && (i < 40 || c->profile > 1); ++i) {
    const kernel_stat *k = &c->kernels[i];
    fprintf(stderr, "tern: %10.4f %6.2f %8ld  %s\n", 1e3 * k->seconds / (double)c->runs,
            total > 0 ? 100.0 * k->seconds / total : 0.0, k->launches / c->runs, k->name);
  }
}


static void record(tern_cuda *c, const char *fmt, ...) {
  if (c->failed)
    return;
  c->failed = 1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->error, sizeof c->error, fmt, ap);
  va_end(ap);
}

static size_t hash_ptr(const void *p, size_t capacity) {
  uintptr_t x = (uintptr_t)p;
  x ^= x >> 17;
  x *= (uintptr_t)0x9E3779B97F4A7C15ull;
  return (size_t)(x >> 7) & (capacity - 1);
}

static module_entry *find_module(tern_cuda *c, const void *image, int insert) {
  if (insert && (c->module_count + 1) * 2 > c->module_capacity) {
    size_t capacity = c->module_capacity ? c->module_capacity * 2 : 256;
    module_entry *grown = calloc(capacity, sizeof *grown);
    if (!grown)
      return NULL;
    for (size_t i = 0; i < c->module_capacity; ++i)
      if (c->modules[i].image) {
        size_t h = hash_ptr(c->modules[i].image, capacity);
        while (grown[h].image)
          h = (h + 1) & (capacity - 1);
        grown[h] = c->modules[i];
      }
    free(c->modules);
    c->modules = grown;
    c->module_capacity = capacity;
  }
  if (!c->module_capacity)
    return NULL;
  size_t h = hash_ptr(image, c->module_capacity);
  while (c->modules[h].image && c->modules[h].image != image)
    h = (h + 1) & (c->module_capacity - 1);
  if (c->modules[h].image == image)
    return &c->modules[h];
  if (!insert)
    return NULL;
  c->modules[h].image = image;
  c->module_count++;
  return &c->modules[h];
}

/*--- what the model's host code calls ----------------------------------------*/

static void *gpu_module(void *state, const void *image) {
  tern_cuda *c = state;
  if (c->failed)
    return NULL;
  module_entry *e = find_module(c, image, 0);
  if (e)
    return e->module;
  char log[4096] = "";
  int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {log, (void *)(uintptr_t)sizeof log};
  CUmodule module = NULL;
  CUresult r = cu.ModuleLoadDataEx(&module, image, 2, options, values);
  if (r != 0) {
    record(c, "cannot load a kernel module on the GPU: %s%s%s", error_text(r), *log ? ": " : "", log);
    return NULL;
  }
  e = find_module(c, image, 1);
  if (!e) {
    cu.ModuleUnload(module);
    record(c, "out of memory");
    return NULL;
  }
  e->module = module;
  return module;
}

static void *gpu_function(void *state, void *module, const char *name) {
  tern_cuda *c = state;
  if (c->failed || !module)
    return NULL;
  CUfunction f = NULL;
  CUresult r = cu.ModuleGetFunction(&f, (CUmodule)module, name);
  if (r != 0) {
    record(c, "kernel %s: %s", name, error_text(r));
    return NULL;
  }
  if ((c->sync || c->profile) && !find_kernel(c, f)) {
    if (c->kernel_count == c->kernel_capacity) {
      size_t capacity = c->kernel_capacity ? 2 * c->kernel_capacity : 64;
      kernel_stat *grown = realloc(c->kernels, capacity * sizeof *grown);
      if (!grown) {
        record(c, "out of memory");
        return NULL;
      }
      c->kernels = grown;
      c->kernel_capacity = capacity;
    }
    kernel_stat *k = &c->kernels[c->kernel_count++];
    memset(k, 0, sizeof *k);
    k->function = f;
    snprintf(k->name, sizeof k->name, "%s", name);
  }
  return f;
}

static void gpu_launch(void *state, void *function, int64_t gx, int64_t gy, int64_t gz, int64_t bx, int64_t by,
                       int64_t bz, int32_t shared_bytes, void **params) {
  tern_cuda *c = state;
  if (c->failed || !function)
    return;
  if (gx <= 0 || gy <= 0 || gz <= 0 || bx <= 0 || by <= 0 || bz <= 0 || gx > 0x7fffffff || gy > 65535 ||
      gz > 65535 || bx * by * bz > 1024) {
    record(c, "a kernel launch of %lldx%lldx%lld blocks of %lldx%lldx%lld threads is out of the GPU's limits",
           (long long)gx, (long long)gy, (long long)gz, (long long)bx, (long long)by, (long long)bz);
    return;
  }
  if (c->phase == 2)
    return; /* the graph launches it */
  double start = c->profile ? now_seconds() : 0;
  CUresult r = cu.LaunchKernel((CUfunction)function, (unsigned)gx, (unsigned)gy, (unsigned)gz, (unsigned)bx,
                               (unsigned)by, (unsigned)bz, (unsigned)shared_bytes, c->stream, params, NULL);
  kernel_stat *k = c->sync || c->profile ? find_kernel(c, (CUfunction)function) : NULL;
  if (r == 0 && (c->sync || c->profile))
    r = cu.CtxSynchronize();
  if (r != 0) {
    record(c, "a kernel launch failed%s%s: %s", k ? " in " : "", k ? k->name : "", error_text(r));
    return;
  }
  if (k && c->profile) {
    k->seconds += now_seconds() - start;
    k->launches++;
  }
}

/* Grows a list of device buffers and its parallel list of sizes to
 * `capacity` entries; 0 when out of memory (both lists still valid). */
static int grow_buffers(CUdeviceptr **buffers, size_t **sizes, size_t capacity) {
  CUdeviceptr *b = realloc(*buffers, capacity * sizeof *b);
  if (b)
    *buffers = b;
  size_t *s = b ? realloc(*sizes, capacity * sizeof *s) : NULL;
  if (s)
    *sizes = s;
  return b && s;
}

static void *gpu_alloc(void *state, int64_t bytes) {
  tern_cuda *c = state;
  if (c->failed)
    return NULL;
  size_t size = bytes > 0 ? (size_t)bytes : 1;
  if (c->phase == 2) { /* replaying: the captured run's buffer */
    if (c->kept_next >= c->kept_count || c->kept_bytes[c->kept_next] != size) {
      record(c, "a replayed run allocates other device memory than the captured one (TERN_CUDA_GRAPH=0 runs "
                "without graphs)");
      return NULL;
    }
    return (void *)(uintptr_t)c->kept[c->kept_next++];
  }
  CUdeviceptr p = 0;
  CUresult r = cu.MemAlloc(&p, size);
  if (r != 0) {
    record(c, "cannot allocate %lld bytes on the GPU: %s", (long long)bytes, error_text(r));
    return NULL;
  }
  if (c->phase == 1) { /* capturing: kept for the replays */
    if (c->kept_count == c->kept_capacity) {
      size_t capacity = c->kept_capacity ? 2 * c->kept_capacity : 16;
      if (!grow_buffers(&c->kept, &c->kept_bytes, capacity)) {
        cu.MemFree(p);
        record(c, "out of memory");
        return NULL;
      }
      c->kept_capacity = capacity;
    }
    c->kept[c->kept_count] = p;
    c->kept_bytes[c->kept_count++] = size;
  }
  return (void *)(uintptr_t)p;
}

/* Is `p` one of the buffers kept for the graph? */
static int kept(const tern_cuda *c, CUdeviceptr p) {
  for (size_t i = 0; i < c->kept_count; ++i)
    if (c->kept[i] == p)
      return 1;
  return 0;
}

static void gpu_free(void *state, void *p) {
  tern_cuda *c = state;
  if (p && !kept(c, (CUdeviceptr)(uintptr_t)p))
    cu.MemFree((CUdeviceptr)(uintptr_t)p);
}

static const tern_abi_gpu table = {gpu_module, gpu_function, gpu_launch, gpu_alloc, gpu_free};

const tern_abi_gpu *tern_cuda_table(void) { return &table; }

/*--- opening, running, closing -----------------------------------------------*/

tern_status tern_cuda_open(const tern_abi_model *abi, const uint8_t *weights, tern_cuda **out) {
  *out = NULL;
  const char *arch = abi->device_arch ? abi->device_arch : "?";
  pthread_once(&driver_once, load_driver);
  if (!cu.library)
    return tern__fail("model '%s' was compiled for an NVIDIA GPU (%s): %s", abi->name, arch, driver_error);
  int count = 0, ordinal = 0;
  const char *env = getenv("TERN_CUDA_DEVICE");
  if (env && *env)
    ordinal = atoi(env);
  if (cu.DeviceGetCount(&count) != 0 || count == 0)
    return tern__fail("model '%s' was compiled for an NVIDIA GPU (%s), and this machine has none", abi->name, arch);
  if (ordinal < 0 || ordinal >= count)
    return tern__fail("TERN_CUDA_DEVICE=%d, but this machine has %d GPUs", ordinal, count);
  tern_cuda *c = calloc(1, sizeof *c);
  if (!c)
    return tern__fail("out of memory");
  CUresult r = cu.DeviceGet(&c->device, ordinal);
  int major = 0, minor = 0;
  if (r == 0)
    r = cu.DeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, c->device);
  if (r == 0)
    r = cu.DeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, c->device);
  if (r != 0) {
    free(c);
    return tern__fail("cannot query GPU %d: %s", ordinal, error_text(r));
  }
  int want = 0;
  if (sscanf(arch, "sm_%d", &want) == 1 && major * 10 + minor < want) {
    char name[256] = "?";
    cu.DeviceGetName(name, sizeof name, c->device);
    free(c);
    return tern__fail("model '%s' was compiled for %s; GPU %d (%s) is sm_%d%d", abi->name, arch, ordinal, name,
                      major, minor);
  }
  r = cu.DevicePrimaryCtxRetain(&c->context, c->device);
  if (r == 0)
    r = cu.CtxSetCurrent(c->context);
  if (r != 0) {
    free(c);
    return tern__fail("cannot create a CUDA context on GPU %d: %s", ordinal, error_text(r));
  }
  pthread_mutex_init(&c->lock, NULL);
  c->sync = env_flag("TERN_CUDA_SYNC");
  c->graph = env_flag("TERN_CUDA_GRAPH") && cu.GraphLaunch;
  if (c->graph && cu.StreamCreate(&c->stream, 0) != 0) {
    c->graph = 0;
    c->stream = NULL;
  }
  c->profile = env_flag("TERN_CUDA_PROFILE");
  const char *profile = getenv("TERN_CUDA_PROFILE");
  if (c->profile && strcmp(profile, "all") == 0)
    c->profile = 2; /* every kernel, not the 40 most expensive */
  if (abi->weights_size > 0) {
    r = cu.MemAlloc(&c->weights, (size_t)abi->weights_size);
    if (r == 0)
      r = cu.MemcpyHtoD(c->weights, weights, (size_t)abi->weights_size);
    if (r != 0) {
      tern_cuda_close(c);
      return tern__fail("cannot upload %lld bytes of weights to the GPU: %s", (long long)abi->weights_size,
                        error_text(r));
    }
  }
  if (abi->arena_size > 0) {
    r = cu.MemAlloc(&c->arena, (size_t)abi->arena_size);
    if (r != 0) {
      tern_cuda_close(c);
      return tern__fail("cannot allocate %lld bytes of working memory on the GPU: %s", (long long)abi->arena_size,
                        error_text(r));
    }
    c->arena_size = abi->arena_size;
  }
  *out = c;
  return TERN_OK;
}

void tern_cuda_close(tern_cuda *c) {
  if (!c)
    return;
  print_profile(c);
  free(c->kernels);
  cu.CtxSetCurrent(c->context);
  if (c->exec)
    cu.GraphExecDestroy(c->exec);
  if (c->stream)
    cu.StreamDestroy(c->stream);
  for (size_t i = 0; i < c->kept_count; ++i)
    cu.MemFree(c->kept[i]);
  free(c->kept);
  free(c->kept_bytes);
  free(c->graph_input_bytes);
  for (size_t i = 0; i < c->module_capacity; ++i)
    if (c->modules[i].image && c->modules[i].module)
      cu.ModuleUnload(c->modules[i].module);
  free(c->modules);
  for (size_t i = 0; i < c->num_inputs; ++i)
    if (c->inputs[i])
      cu.MemFree(c->inputs[i]);
  free(c->inputs);
  free(c->input_capacity);
  if (c->weights)
    cu.MemFree(c->weights);
  if (c->arena)
    cu.MemFree(c->arena);
  cu.DevicePrimaryCtxRelease(c->device);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

void *tern_cuda_weights(tern_cuda *c) { return (void *)(uintptr_t)c->weights; }
void *tern_cuda_arena(tern_cuda *c) { return (void *)(uintptr_t)c->arena; }

/* TERN_CUDA_GRAPH: this run replays the graph when one was captured for
 * these input sizes; the second run is captured; the others run eagerly. */
static void start_graph_phase(tern_cuda *c, const tern_tensor *inputs, size_t num_inputs) {
  c->phase = 0;
  if (!c->graph || c->profile || c->sync)
    return;
  if (c->exec) {
    int same = c->graph_inputs == num_inputs;
    for (size_t i = 0; same && i < num_inputs; ++i)
      same = c->graph_input_bytes[i] == inputs[i].size_bytes;
    if (same) {
      c->phase = 2;
      c->kept_next = 0;
    }
    return;
  }
  if (c->runs < 2)
    return; /* the first run loads the modules */
  size_t *sizes = malloc((num_inputs ? num_inputs : 1) * sizeof *sizes);
  if (!sizes || cu.StreamBeginCapture(c->stream, CU_STREAM_CAPTURE_MODE_RELAXED) != 0) {
    free(sizes);
    c->graph = 0; /* no graphs for this model */
    return;
  }
  for (size_t i = 0; i < num_inputs; ++i)
    sizes[i] = inputs[i].size_bytes;
  free(c->graph_input_bytes);
  c->graph_input_bytes = sizes;
  c->graph_inputs = num_inputs;
  c->phase = 1;
}

/* Ends a captured run's capture (instantiating its graph) and launches the
 * graph of a captured or replayed run. */
static void finish_graph_phase(tern_cuda *c) {
  if (c->phase == 1) {
    CUgraph graph = NULL;
    CUresult r = cu.StreamEndCapture(c->stream, &graph);
    if (r == 0 && !c->failed)
      r = cu.GraphInstantiate(&c->exec, graph, 0);
    if (graph)
      cu.GraphDestroy(graph);
    if (r != 0) {
      record(c, "cannot capture the run as a CUDA graph (TERN_CUDA_GRAPH=0 runs without): %s", error_text(r));
      c->exec = NULL;
      c->graph = 0;
    }
  } else if (c->phase == 2 && c->kept_next != c->kept_count) {
    record(c, "a replayed run allocates other device memory than the captured one (TERN_CUDA_GRAPH=0 runs "
              "without graphs)");
  }
  if (c->phase != 0 && c->exec && !c->failed) {
    CUresult r = cu.GraphLaunch(c->exec, c->stream);
    if (r != 0)
      record(c, "the model's CUDA graph failed to launch: %s", error_text(r));
  }
  c->phase = 0;
}

tern_status tern_cuda_enter(tern_cuda *c, const tern_tensor *inputs, size_t num_inputs, void **device_inputs) {
  pthread_mutex_lock(&c->lock);
  c->failed = 0;
  c->error[0] = 0;
  c->runs++;
  CUresult r = cu.CtxSetCurrent(c->context);
  if (r != 0) {
    pthread_mutex_unlock(&c->lock);
    return tern__fail("cannot make the model's CUDA context current: %s", error_text(r));
  }
  if (c->num_inputs < num_inputs) {
    if (!grow_buffers(&c->inputs, &c->input_capacity, num_inputs)) {
      pthread_mutex_unlock(&c->lock);
      return tern__fail("out of memory");
    }
    for (size_t i = c->num_inputs; i < num_inputs; ++i) {
      c->inputs[i] = 0;
      c->input_capacity[i] = 0;
    }
    c->num_inputs = num_inputs;
  }
  for (size_t i = 0; i < num_inputs; ++i) {
    size_t bytes = inputs[i].size_bytes;
    if (bytes > c->input_capacity[i]) {
      if (c->inputs[i])
        cu.MemFree(c->inputs[i]);
      c->inputs[i] = 0;
      c->input_capacity[i] = 0;
      r = cu.MemAlloc(&c->inputs[i], bytes);
      if (r != 0) {
        pthread_mutex_unlock(&c->lock);
        return tern__fail("cannot allocate %zu bytes on the GPU for input %zu: %s", bytes, i, error_text(r));
      }
      c->input_capacity[i] = bytes;
    }
    if (bytes) {
      r = cu.MemcpyHtoD(c->inputs[i], inputs[i].data, bytes);
      if (r != 0) {
        pthread_mutex_unlock(&c->lock);
        return tern__fail("cannot copy input %zu to the GPU: %s", i, error_text(r));
      }
    }
    device_inputs[i] = (void *)(uintptr_t)c->inputs[i];
  }
  start_graph_phase(c, inputs, num_inputs);
  return TERN_OK;
}

tern_status tern_cuda_leave(tern_cuda *c, const tern_abi_model *abi, int64_t *results) {
  finish_graph_phase(c);
  CUresult r = cu.CtxSynchronize();
  if (r != 0)
    record(c, "a kernel failed on the GPU: %s", error_text(r));
  int64_t *d = results;
  for (int64_t i = 0; i < abi->num_outputs; ++i) {
    const tern_abi_tensor *want = &abi->outputs[i];
    int64_t rank = want->rank;
    CUdeviceptr allocated = (CUdeviceptr)d[0], aligned = (CUdeviceptr)d[1];
    int64_t offset = d[2], *dims = d + 3, *strides = d + 3 + rank;
    size_t esize = tern_dtype_size((tern_dtype)want->dtype), count = 1;
    int64_t expect = 1;
    int contiguous = 1;
    for (int64_t k = rank - 1; k >= 0; --k) {
      count *= (size_t)dims[k];
      if (dims[k] != 1 && strides[k] != expect)
        contiguous = 0;
      expect *= dims[k];
    }
    size_t bytes = count * esize;
    void *host = malloc(bytes ? bytes : 1);
    if (!host)
      record(c, "out of memory");
    else if (!contiguous)
      record(c, "output '%s' is not contiguous in device memory", want->name);
    else if (!c->failed && bytes) {
      r = cu.MemcpyDtoH(host, aligned + (CUdeviceptr)offset * esize, bytes);
      if (r != 0)
        record(c, "cannot copy output '%s' from the GPU: %s", want->name, error_text(r));
    }
    if (allocated && !kept(c, allocated))
      cu.MemFree(allocated);
    d[0] = d[1] = (int64_t)(intptr_t)host;
    d[2] = 0;
    int64_t stride = 1;
    for (int64_t k = rank - 1; k >= 0; --k) {
      strides[k] = stride;
      stride *= dims[k];
    }
    d += 3 + 2 * rank;
  }
  tern_status status = c->failed ? tern__fail("model '%s' on the GPU: %s", abi->name, c->error) : TERN_OK;
  pthread_mutex_unlock(&c->lock);
  return status;
}
