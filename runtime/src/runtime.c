/*===- runtime.c - loading and running compiled models --------------------===
 *
 * Depends on libc, libdl and pthreads only. A model is a tern_abi_model
 * (tern_abi.h) found in a shared library or linked in; running it means
 * checking the inputs against it, building the strided descriptors its
 * entry point reads, lending it an arena for its planned temporaries and
 * handing its outputs to the caller.
 *===----------------------------------------------------------------------===*/
#define _GNU_SOURCE
#include "tern/tern.h"
#include "tern/tern_abi.h"
#include "cuda.h"
#include "threadpool.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/*--- errors ---------------------------------------------------------------*/

static _Thread_local char last_error[1024];

/* Also cuda.c's (not exported from the shared library). */
__attribute__((visibility("hidden"))) tern_status tern__fail(const char *fmt, ...);
#define fail tern__fail

tern_status tern__fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return TERN_ERROR;
}

const char *tern_last_error(void) { return last_error; }

/*--- element types ----------------------------------------------------------*/

size_t tern_dtype_size(tern_dtype t) {
  switch (t) {
  case TERN_BOOL: case TERN_UINT8: case TERN_INT8: return 1;
  case TERN_UINT16: case TERN_INT16: case TERN_FLOAT16: case TERN_BFLOAT16: return 2;
  case TERN_FLOAT: case TERN_INT32: case TERN_UINT32: return 4;
  case TERN_DOUBLE: case TERN_INT64: case TERN_UINT64: return 8;
  }
  return 0;
}

const char *tern_dtype_name(tern_dtype t) {
  switch (t) {
  case TERN_FLOAT: return "float32";
  case TERN_UINT8: return "uint8";
  case TERN_INT8: return "int8";
  case TERN_UINT16: return "uint16";
  case TERN_INT16: return "int16";
  case TERN_INT32: return "int32";
  case TERN_INT64: return "int64";
  case TERN_BOOL: return "bool";
  case TERN_FLOAT16: return "float16";
  case TERN_DOUBLE: return "float64";
  case TERN_UINT32: return "uint32";
  case TERN_UINT64: return "uint64";
  case TERN_BFLOAT16: return "bfloat16";
  }
  return "unknown";
}

/*--- models ---------------------------------------------------------------*/

typedef struct arena_node {
  struct arena_node *next;
  size_t capacity;
} arena_node;

struct tern_model {
  const tern_abi_model *abi;
  void *library;         /* dlopen handle, or NULL when linked in */
  const uint8_t *weights;
  void *mapping;         /* mmap of the .weights file, or NULL */
  size_t mapping_size;
  int32_t num_threads;
  tern_pool *pool;
  tern_abi_hooks hooks;
  pthread_mutex_t lock;  /* guards the free arenas */
  arena_node *free_arenas;
  tern_cuda *cuda;       /* a GPU model's device (cuda.c), else NULL */
};

static int32_t default_threads(const tern_options *options) {
  if (options && options->num_threads > 0)
    return options->num_threads;
  const char *env = getenv("TERN_NUM_THREADS");
  if (env && atoi(env) > 0)
    return atoi(env);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int32_t)n : 1;
}

static tern_status map_weights(tern_model *m, const char *dir) {
  const tern_abi_model *abi = m->abi;
  if (!abi->weights_file) {
    m->weights = abi->weights;
    return TERN_OK;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : ".", abi->weights_file);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail("cannot open the weights file %s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || (int64_t)st.st_size != abi->weights_size) {
    close(fd);
    return fail("the weights file %s has %lld bytes, the model expects %lld", path,
                (long long)st.st_size, (long long)abi->weights_size);
  }
  void *p = abi->weights_size ? mmap(NULL, (size_t)abi->weights_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
  close(fd);
  if (p == MAP_FAILED)
    return fail("cannot map the weights file %s: %s", path, strerror(errno));
  m->mapping = p;
  m->mapping_size = (size_t)abi->weights_size;
  m->weights = p;
  return TERN_OK;
}

/* A run's first failed check (tern_abi_hooks.check_failed). */
typedef struct {
  int failed;
  int64_t check, got, want;
} run_failure;

static void record_failure(void *state, int64_t check, int64_t got, int64_t want) {
  run_failure *f = state;
  if (f->failed)
    return;
  f->failed = 1;
  f->check = check;
  f->got = got;
  f->want = want;
}

static tern_status open_abi(const tern_abi_model *abi, void *library, const char *weights_dir,
                            const tern_options *options, tern_model **out) {
  if (abi->abi_version != TERN_ABI_VERSION)
    return fail("the model was compiled for runtime ABI %lld, this runtime has %d",
                (long long)abi->abi_version, TERN_ABI_VERSION);
  if (abi->device != TERN_DEVICE_CPU && abi->device != TERN_DEVICE_CUDA)
    return fail("model '%s' is for device kind %lld, which this runtime does not know", abi->name,
                (long long)abi->device);
  int64_t scale[2][2] = {{abi->arena_scale_input, abi->arena_scale_dim},
                         {abi->arena_scale_input2, abi->arena_scale_dim2}};
  for (int k = 0; k < 2; ++k)
    if (scale[k][0] >= 0 &&
        (abi->device != TERN_DEVICE_CPU || scale[k][0] >= abi->num_inputs || scale[k][1] < 0 ||
         scale[k][1] >= abi->inputs[scale[k][0]].rank || (k == 1 && scale[0][0] < 0)))
      return fail("model '%s' scales its working memory with input %lld dim %lld, which it does not have", abi->name,
                  (long long)scale[k][0], (long long)scale[k][1]);
  if (abi->num_checks < 0 || (abi->num_checks > 0 && !abi->checks))
    return fail("model '%s' has a malformed table of run-time checks", abi->name);
  tern_model *m = calloc(1, sizeof *m);
  if (!m)
    return fail("out of memory");
  m->abi = abi;
  m->library = library;
  m->num_threads = default_threads(options);
  m->pool = tern_pool_create(m->num_threads);
  if (!m->pool) {
    free(m);
    return fail("cannot create a thread pool of %d threads", m->num_threads);
  }
  m->num_threads = tern_pool_threads(m->pool);
  m->hooks.parallel_for = tern_pool_parallel_for;
  m->hooks.pool = m->pool;
  m->hooks.check_failed = record_failure;
  pthread_mutex_init(&m->lock, NULL);
  if (map_weights(m, weights_dir) != TERN_OK ||
      (abi->device == TERN_DEVICE_CUDA && tern_cuda_open(abi, m->weights, &m->cuda) != TERN_OK)) {
    if (m->mapping)
      munmap(m->mapping, m->mapping_size);
    tern_pool_destroy(m->pool);
    pthread_mutex_destroy(&m->lock);
    free(m);
    return TERN_ERROR;
  }
  if (m->cuda) {
    m->hooks.gpu = tern_cuda_table();
    m->hooks.gpu_state = m->cuda;
  }
  *out = m;
  return TERN_OK;
}

tern_status tern_model_open_linked(const struct tern_abi_model *abi, const char *weights_dir,
                                   const tern_options *options, tern_model **model) {
  if (!abi || !model)
    return fail("tern_model_open_linked: null argument");
  *model = NULL;
  return open_abi(abi, NULL, weights_dir, options, model);
}

tern_status tern_model_open(const char *path, const tern_options *options, tern_model **model) {
  if (!path || !model)
    return fail("tern_model_open: null argument");
  *model = NULL;
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return fail("cannot load %s: %s", path, dlerror());
  const tern_abi_model *abi = dlsym(lib, "tern_model_abi");
  if (!abi) {
    dlclose(lib);
    return fail("%s is not a model compiled by ternc (no tern_model_abi symbol)", path);
  }
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = 0;
  else
    snprintf(dir, sizeof dir, ".");
  if (open_abi(abi, lib, dir, options, model) != TERN_OK) {
    dlclose(lib);
    return TERN_ERROR;
  }
  return TERN_OK;
}

void tern_model_close(tern_model *m) {
  if (!m)
    return;
  for (arena_node *a = m->free_arenas; a;) {
    arena_node *next = a->next;
    free(a);
    a = next;
  }
  tern_cuda_close(m->cuda);
  tern_pool_destroy(m->pool);
  if (m->mapping)
    munmap(m->mapping, m->mapping_size);
  if (m->library)
    dlclose(m->library);
  pthread_mutex_destroy(&m->lock);
  free(m);
}

const char *tern_model_name(const tern_model *m) { return m ? m->abi->name : NULL; }
size_t tern_model_num_inputs(const tern_model *m) { return m ? (size_t)m->abi->num_inputs : 0; }
size_t tern_model_num_outputs(const tern_model *m) { return m ? (size_t)m->abi->num_outputs : 0; }
size_t tern_model_arena_bytes(const tern_model *m) { return m ? (size_t)m->abi->arena_size : 0; }
int32_t tern_model_num_threads(const tern_model *m) { return m ? m->num_threads : 0; }

static tern_status info_of(const tern_abi_tensor *t, tern_tensor_info *info) {
  info->name = t->name;
  info->dtype = (tern_dtype)t->dtype;
  info->rank = (int32_t)t->rank;
  info->dims = t->dims;
  info->dim_names = t->dim_names;
  return TERN_OK;
}

tern_status tern_model_input_info(const tern_model *m, size_t i, tern_tensor_info *info) {
  if (!m || !info || i >= (size_t)m->abi->num_inputs)
    return fail("input index %zu out of range", i);
  return info_of(&m->abi->inputs[i], info);
}

tern_status tern_model_output_info(const tern_model *m, size_t i, tern_tensor_info *info) {
  if (!m || !info || i >= (size_t)m->abi->num_outputs)
    return fail("output index %zu out of range", i);
  return info_of(&m->abi->outputs[i], info);
}

void tern_tensor_release(tern_tensor *t) {
  if (!t || !t->owner)
    return;
  free(t->owner);
  t->owner = NULL;
  t->data = NULL;
  t->size_bytes = 0;
}

/*--- running --------------------------------------------------------------*/

/* "[2,?,4]": `declared` dims print -1 as "?" (dynamic); given dims as is. */
static void format_dims(char *buf, size_t n, const int64_t *dims, int64_t rank, int declared) {
  size_t used = (size_t)snprintf(buf, n, "[");
  for (int64_t i = 0; i < rank && used < n; ++i) {
    if (declared && dims[i] < 0)
      used += (size_t)snprintf(buf + used, n - used, "%s?", i ? "," : "");
    else
      used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? "," : "", (long long)dims[i]);
  }
  if (used < n)
    snprintf(buf + used, n - used, "]");
}

static tern_status check_inputs(const tern_model *m, const tern_tensor *inputs, size_t n) {
  const tern_abi_model *abi = m->abi;
  if (n != (size_t)abi->num_inputs)
    return fail("the model takes %lld inputs, %zu given", (long long)abi->num_inputs, n);
  if (n && !inputs)
    return fail("inputs is NULL");
  for (size_t i = 0; i < n; ++i) {
    const tern_abi_tensor *want = &abi->inputs[i];
    const tern_tensor *got = &inputs[i];
    char expected[512], actual[512];
    format_dims(expected, sizeof expected, want->dims, want->rank, 1);
    if (got->rank < 0 || got->rank > TERN_MAX_RANK)
      return fail("input '%s': rank %d is out of range", want->name, got->rank);
    format_dims(actual, sizeof actual, got->dims, got->rank, 0);
    if ((int64_t)got->dtype != want->dtype)
      return fail("input '%s': expected element type %s, got %s", want->name,
                  tern_dtype_name((tern_dtype)want->dtype), tern_dtype_name(got->dtype));
    if (got->rank != want->rank)
      return fail("input '%s': expected shape %s (rank %lld), got %s (rank %d)", want->name, expected,
                  (long long)want->rank, actual, got->rank);
    size_t count = 1;
    for (int32_t d = 0; d < got->rank; ++d) {
      int64_t g = got->dims[d];
      if (g < 0 || (want->dims[d] >= 0 && g != want->dims[d]))
        return fail("input '%s': expected shape %s, got %s (dim %d)", want->name, expected, actual, d);
      if (g > 0 && count > SIZE_MAX / (size_t)g)
        return fail("input '%s': shape %s is too large", want->name, actual);
      count *= (size_t)g;
      /* A named dynamic dim must agree with the same name elsewhere. */
      if (want->dims[d] < 0 && want->dim_names && want->dim_names[d][0]) {
        for (size_t j = 0; j < i; ++j) {
          const tern_abi_tensor *other = &abi->inputs[j];
          for (int64_t e = 0; other->dim_names && e < other->rank; ++e)
            if (other->dims[e] < 0 && !strcmp(other->dim_names[e], want->dim_names[d]) && inputs[j].dims[e] != g)
              return fail("input '%s': dim %d ('%s') is %lld but input '%s' has %lld for it", want->name, d,
                          want->dim_names[d], (long long)g, other->name, (long long)inputs[j].dims[e]);
        }
      }
    }
    size_t bytes = count * tern_dtype_size(got->dtype);
    if (bytes && !got->data)
      return fail("input '%s': data is NULL", want->name);
    if (got->size_bytes < bytes)
      return fail("input '%s': shape %s needs %zu bytes, the buffer has %zu", want->name, actual, bytes,
                  got->size_bytes);
  }
  return TERN_OK;
}

/* Bytes of arena a run on these inputs needs (checked inputs). */
static size_t arena_bytes(const tern_abi_model *abi, const tern_tensor *inputs) {
  size_t bytes = (size_t)abi->arena_size;
  if (abi->arena_scale_input >= 0) {
    int64_t units = inputs[abi->arena_scale_input].dims[abi->arena_scale_dim];
    size_t base = (bytes + 63) & ~(size_t)63, per = (size_t)abi->arena_scaled_size;
    size_t n = (size_t)(units > 0 ? units : 0);
    if (abi->arena_scale_input2 >= 0) {
      int64_t more = inputs[abi->arena_scale_input2].dims[abi->arena_scale_dim2];
      size_t m = (size_t)(more > 0 ? more : 0);
      if (m && n > SIZE_MAX / m)
        return SIZE_MAX;
      n *= m;
    }
    /* Too large to address: the allocation fails with an error. */
    if (per && n > (SIZE_MAX - base) / per)
      return SIZE_MAX;
    bytes = base + per * n;
  }
  return bytes;
}

/* An arena of at least `bytes`: a free one of the model's when one is
 * large enough (a smaller one is dropped), else a new one; its size in
 * `capacity` (the run writes over the node's fields). */
static void *take_arena(tern_model *m, size_t bytes, size_t *capacity) {
  if (bytes == 0)
    return NULL;
  pthread_mutex_lock(&m->lock);
  arena_node *a = m->free_arenas;
  if (a)
    m->free_arenas = a->next;
  pthread_mutex_unlock(&m->lock);
  if (a && a->capacity >= bytes) {
    *capacity = a->capacity;
    return a;
  }
  free(a);
  void *p = NULL;
  if (bytes > SIZE_MAX - 63)
    return NULL;
  size_t size = (bytes + 63) & ~(size_t)63;
  if (size < sizeof(arena_node))
    size = sizeof(arena_node);
  if (posix_memalign(&p, 64, size) != 0)
    return NULL;
  *capacity = size;
  return p;
}

static void give_arena(tern_model *m, void *p, size_t capacity) {
  if (!p)
    return;
  arena_node *a = p;
  a->capacity = capacity;
  pthread_mutex_lock(&m->lock);
  a->next = m->free_arenas;
  m->free_arenas = a;
  pthread_mutex_unlock(&m->lock);
}

/* Copies a strided source into a dense row-major destination. */
static void copy_strided(char *dst, const char *src, int64_t rank, const int64_t *sizes, const int64_t *strides,
                         size_t esize) {
  if (rank == 0) {
    memcpy(dst, src, esize);
    return;
  }
  int64_t inner = 1;
  for (int64_t d = 1; d < rank; ++d)
    inner *= sizes[d];
  for (int64_t i = 0; i < sizes[0]; ++i)
    copy_strided(dst + (size_t)(i * inner) * esize, src + (size_t)(i * strides[0]) * esize, rank - 1, sizes + 1,
                 strides + 1, esize);
}

tern_status tern_model_run(tern_model *m, const tern_tensor *inputs, size_t num_inputs, tern_tensor *outputs,
                           size_t num_outputs) {
  if (!m)
    return fail("tern_model_run: model is NULL");
  const tern_abi_model *abi = m->abi;
  if (check_inputs(m, inputs, num_inputs) != TERN_OK)
    return TERN_ERROR;
  if (num_outputs != (size_t)abi->num_outputs)
    return fail("the model has %lld outputs, %zu given", (long long)abi->num_outputs, num_outputs);
  if (num_outputs && !outputs)
    return fail("outputs is NULL");

  size_t slots = 3 * 5;
  for (size_t i = 0; i < num_inputs; ++i)
    slots += 3 + 2 * (size_t)inputs[i].rank;
  size_t result_slots = 0;
  for (size_t i = 0; i < num_outputs; ++i)
    result_slots += 3 + 2 * (size_t)abi->outputs[i].rank;
  int64_t *args = calloc(slots + result_slots + 1, sizeof(int64_t));
  if (!args)
    return fail("out of memory");
  int64_t *results = args + slots;
  /* A GPU model runs on device copies of the inputs, its weights and arena
   * on the device. */
  void **data = NULL;
  if (m->cuda) {
    data = calloc(num_inputs + 1, sizeof *data);
    if (!data) {
      free(args);
      return fail("out of memory");
    }
    if (tern_cuda_enter(m->cuda, inputs, num_inputs, data) != TERN_OK) {
      free(data);
      free(args);
      return TERN_ERROR;
    }
  }
  size_t arena_size = m->cuda ? (size_t)abi->arena_size : arena_bytes(abi, inputs), arena_capacity = 0;
  void *arena = m->cuda ? NULL : take_arena(m, arena_size, &arena_capacity);
  if (!m->cuda && arena_size && !arena) {
    free(data);
    free(args);
    return fail("cannot allocate %zu bytes of working memory", arena_size);
  }

  int64_t *s = args;
  for (size_t i = 0; i < num_inputs; ++i) {
    const tern_tensor *t = &inputs[i];
    void *p = data ? data[i] : t->data;
    *s++ = (int64_t)(intptr_t)p;
    *s++ = (int64_t)(intptr_t)p;
    *s++ = 0;
    for (int32_t d = 0; d < t->rank; ++d)
      *s++ = t->dims[d];
    int64_t stride = 1;
    for (int32_t d = t->rank - 1; d >= 0; --d) {
      s[d] = stride;
      stride *= t->dims[d];
    }
    s += t->rank;
  }
  /* The hooks with this run's failure record (runs may overlap). */
  run_failure failure = {0};
  tern_abi_hooks hooks = m->hooks;
  hooks.check_state = &failure;
  const void *buffers[3] = {m->cuda ? tern_cuda_weights(m->cuda) : m->weights,
                            m->cuda ? tern_cuda_arena(m->cuda) : arena, &hooks};
  int64_t sizes[3] = {abi->weights_size, (int64_t)arena_size, (int64_t)sizeof hooks};
  for (int b = 0; b < 3; ++b) {
    *s++ = (int64_t)(intptr_t)buffers[b];
    *s++ = (int64_t)(intptr_t)buffers[b];
    *s++ = 0;
    *s++ = sizes[b];
    *s++ = 1;
  }

  abi->entry(args, results);
  tern_status status = TERN_OK;
  if (m->cuda)
    status = tern_cuda_leave(m->cuda, abi, results);
  else
    give_arena(m, arena, arena_capacity);
  if (failure.failed && status == TERN_OK)
    status = fail("%s is %lld where %lld is needed: the shapes do not broadcast",
                  failure.check >= 0 && failure.check < abi->num_checks ? abi->checks[failure.check]
                                                                        : "a run-time check",
                  (long long)failure.got, (long long)failure.want);
  free(data);

  /* Hand each output over: its buffer to the caller when it allocates
   * nothing, else a copy into the caller's buffer. */
  int64_t *r = results;
  for (size_t i = 0; i < num_outputs; ++i) {
    const tern_abi_tensor *want = &abi->outputs[i];
    int64_t rank = want->rank;
    void *allocated = (void *)(intptr_t)r[0];
    char *aligned = (char *)(intptr_t)r[1];
    int64_t offset = r[2];
    const int64_t *dims = r + 3, *strides = r + 3 + rank;
    r += 3 + 2 * rank;
    tern_tensor *out = &outputs[i];
    size_t esize = tern_dtype_size((tern_dtype)want->dtype), count = 1;
    int contiguous = 1;
    int64_t expect = 1;
    for (int64_t d = rank - 1; d >= 0; --d) {
      count *= (size_t)dims[d];
      if (dims[d] != 1 && strides[d] != expect)
        contiguous = 0;
      expect *= dims[d];
    }
    size_t bytes = count * esize;
    char *src = aligned + (size_t)offset * esize;
    if (status != TERN_OK) {
      free(allocated);
      continue;
    }
    out->dtype = (tern_dtype)want->dtype;
    out->rank = (int32_t)rank;
    for (int64_t d = 0; d < rank; ++d)
      out->dims[d] = dims[d];
    if (!out->data) {
      if (contiguous) {
        out->data = src;
        out->owner = allocated;
      } else {
        void *copy = malloc(bytes ? bytes : 1);
        if (!copy) {
          status = fail("out of memory");
          free(allocated);
          continue;
        }
        copy_strided(copy, src, rank, dims, strides, esize);
        free(allocated);
        out->data = copy;
        out->owner = copy;
      }
      out->size_bytes = bytes;
      continue;
    }
    if (out->size_bytes < bytes) {
      char shape[512];
      format_dims(shape, sizeof shape, dims, rank, 0);
      status = fail("output '%s': shape %s needs %zu bytes, the buffer has %zu", want->name, shape, bytes,
                    out->size_bytes);
    } else if (contiguous) {
      memcpy(out->data, src, bytes);
    } else {
      copy_strided(out->data, src, rank, dims, strides, esize);
    }
    free(allocated);
  }
  free(args);
  if (status != TERN_OK)
    for (size_t i = 0; i < num_outputs; ++i)
      tern_tensor_release(&outputs[i]);
  return status;
}
