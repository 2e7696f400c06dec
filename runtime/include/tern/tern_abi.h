/*===- tern_abi.h - the contract between compiled models and the runtime ---===
 *
 * A library compiled by ternc exports one constant of type tern_abi_model:
 * `tern_model_abi` in a shared library, `<name>_tern_model_abi` in an object
 * file. The runtime (tern.h) reads it; user code does not need this header.
 * Every field is 8 bytes wide so the compiler can emit the struct without
 * padding rules.
 *
 * The entry point takes a flat array of 64-bit slots: for every input, then
 * for the weights, the arena and the runtime hooks, a strided buffer
 * descriptor
 *   { allocated ptr, aligned ptr, offset, sizes[rank], strides[rank] }
 * (the last three are 1-D byte buffers; the hooks buffer holds a
 * tern_abi_hooks), and writes one descriptor of the same form per output
 * into `results`. Output buffers are malloc'ed by the model; the caller
 * frees each output's `allocated` pointer once.
 *===----------------------------------------------------------------------===*/
#ifndef TERN_ABI_H
#define TERN_ABI_H

#include <stdint.h>

#define TERN_ABI_VERSION 2

typedef struct tern_abi_tensor {
  const char *name;
  int64_t dtype;                /* ONNX TensorProto.DataType */
  int64_t rank;
  const int64_t *dims;          /* -1 where dynamic */
  const char *const *dim_names; /* per dim, "" when unnamed; NULL when none */
} tern_abi_tensor;

/* What the runtime lends generated code: its parallel loops call
 * parallel_for(pool, task, ctx, lo, hi), which runs task(ctx, a, b) over
 * sub-ranges covering [lo, hi) on the pool's threads. */
typedef struct tern_abi_hooks {
  void (*parallel_for)(void *pool, void (*task)(void *ctx, int64_t lo, int64_t hi), void *ctx, int64_t lo,
                       int64_t hi);
  void *pool;
} tern_abi_hooks;

typedef struct tern_abi_model {
  int64_t abi_version; /* TERN_ABI_VERSION */
  const char *name;
  int64_t num_inputs;
  int64_t num_outputs;
  const tern_abi_tensor *inputs;
  const tern_abi_tensor *outputs;
  const uint8_t *weights;   /* embedded weights, or NULL */
  int64_t weights_size;     /* bytes */
  const char *weights_file; /* file beside the library holding them, or NULL */
  int64_t arena_size;       /* bytes of planned temporaries per run */
  void (*entry)(int64_t *args, int64_t *results);
  const char *target;       /* "triple cpu" it was compiled for */
} tern_abi_model;

#endif /* TERN_ABI_H */
