/*===- tern.h - run models compiled by ternc -------------------------------===
 *
 * The C API of tern's runtime (libtern_runtime). A model compiled with
 *   ternc model.onnx -o model.so
 * is opened with tern_model_open("model.so", ...); one compiled to an object
 * file (ternc model.onnx -o model.o, which also writes model.h) is linked
 * into the program and opened with the model_tern_model_abi_open() that
 * model.h declares.
 *
 *   tern_model *m;
 *   if (tern_model_open("model.so", NULL, &m) != TERN_OK)
 *     fprintf(stderr, "%s\n", tern_last_error());
 *   tern_tensor in = {TERN_FLOAT, 2, {1, 64}, pixels, sizeof pixels};
 *   tern_tensor out = {0};                  // data NULL: the runtime allocates
 *   if (tern_model_run(m, &in, 1, &out, 1) != TERN_OK) ...
 *   ... out.dims, out.data ...
 *   tern_tensor_release(&out);
 *   tern_model_close(m);
 *
 * Thread safety: a model may be run from several threads at once; each run
 * uses its own working memory. Opening and closing are not concurrent with
 * runs of the same model. tern_last_error() is per thread.
 *
 * Every run checks every input: count, element type, rank, every static dim,
 * named dynamic dims that must agree across inputs, non-null data and a
 * buffer size that covers the dims. A wrong input gives TERN_ERROR and a
 * message naming the input and what was expected; nothing is read out of
 * bounds.
 *===----------------------------------------------------------------------===*/
#ifndef TERN_H
#define TERN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tern_status { TERN_OK = 0, TERN_ERROR = 1 } tern_status;

/* Element types, numbered as ONNX's TensorProto.DataType. */
typedef enum tern_dtype {
  TERN_FLOAT = 1,
  TERN_UINT8 = 2,
  TERN_INT8 = 3,
  TERN_UINT16 = 4,
  TERN_INT16 = 5,
  TERN_INT32 = 6,
  TERN_INT64 = 7,
  TERN_BOOL = 9,
  TERN_FLOAT16 = 10,
  TERN_DOUBLE = 11,
  TERN_UINT32 = 12,
  TERN_UINT64 = 13,
  TERN_BFLOAT16 = 16
} tern_dtype;

#define TERN_MAX_RANK 16

/* A dense row-major tensor. For inputs, `data` holds `size_bytes` bytes.
 * For outputs, either the caller provides `data` and `size_bytes` (the
 * capacity) and the run fills it and sets dtype, rank and dims, or `data` is
 * NULL and the run allocates it; release it with tern_tensor_release. */
typedef struct tern_tensor {
  tern_dtype dtype;
  int32_t rank;
  int64_t dims[TERN_MAX_RANK];
  void *data;
  size_t size_bytes;
  void *owner; /* set by the runtime for buffers it allocated */
} tern_tensor;

/* An input or output as the model declares it; dims are -1 where dynamic,
 * and dim_names (NULL when none) names them ("batch", "sequence"). */
typedef struct tern_tensor_info {
  const char *name;
  tern_dtype dtype;
  int32_t rank;
  const int64_t *dims;
  const char *const *dim_names;
} tern_tensor_info;

typedef struct tern_options {
  /* Threads for a run; 0: $TERN_NUM_THREADS, else the number of CPUs. */
  int32_t num_threads;
} tern_options;

typedef struct tern_model tern_model;
struct tern_abi_model;

/* Opens a shared library compiled by ternc (and its .weights file, if any,
 * memory-mapped from beside it). */
tern_status tern_model_open(const char *library_path, const tern_options *options, tern_model **model);
/* Opens a model linked into the program; `weights_dir` holds its .weights
 * file when the weights are not embedded (NULL: the current directory). */
tern_status tern_model_open_linked(const struct tern_abi_model *abi, const char *weights_dir,
                                   const tern_options *options, tern_model **model);
void tern_model_close(tern_model *model);

const char *tern_model_name(const tern_model *model);
size_t tern_model_num_inputs(const tern_model *model);
size_t tern_model_num_outputs(const tern_model *model);
tern_status tern_model_input_info(const tern_model *model, size_t index, tern_tensor_info *info);
tern_status tern_model_output_info(const tern_model *model, size_t index, tern_tensor_info *info);
/* Working memory one run needs besides its outputs (the planned arena);
 * a model compiled with a batch known only at run time needs more per
 * image on top of it, lent per run and kept for the next. */
size_t tern_model_arena_bytes(const tern_model *model);
int32_t tern_model_num_threads(const tern_model *model);

/* Runs the model: inputs in the model's order. The calling thread runs a
 * share of the work and needs about 1 MB of stack for it (tiles keep their
 * temporaries there; glibc's default 8 MB is plenty); the model's own
 * threads get 4 MB. */
tern_status tern_model_run(tern_model *model, const tern_tensor *inputs, size_t num_inputs,
                           tern_tensor *outputs, size_t num_outputs);

/* Frees an output the runtime allocated (no-op for caller buffers). */
void tern_tensor_release(tern_tensor *tensor);

/* The message of this thread's last error. */
const char *tern_last_error(void);

size_t tern_dtype_size(tern_dtype dtype);
const char *tern_dtype_name(tern_dtype dtype);

#ifdef __cplusplus
}
#endif

#endif /* TERN_H */
