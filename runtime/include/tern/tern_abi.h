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
 * frees each output's `allocated` pointer once. A GPU model (device ==
 * TERN_DEVICE_CUDA) gets device pointers in every slot but the hooks and
 * allocates its outputs through tern_abi_gpu.alloc.
 *===----------------------------------------------------------------------===*/
#ifndef TERN_ABI_H
#define TERN_ABI_H

#include <stdint.h>

#define TERN_ABI_VERSION 6

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
  const struct tern_abi_gpu *gpu; /* a GPU model's device layer (NULL for CPU models) */
  void *gpu_state;                /* its first argument */
  /* A check of generated code failed at run time: the model's check
   * `check` (its checks[check] says where) found a dim of `got` where it
   * needs `want` (a broadcast whose dims do not match). The run goes on
   * without reading outside any buffer; its results are discarded. */
  void (*check_failed)(void *state, int64_t check, int64_t got, int64_t want);
  void *check_state; /* its first argument, one per run */
} tern_abi_hooks;

/* What a GPU model's host code calls (runtime/src/cuda.c). Every buffer
 * the model sees (inputs, weights, arena, the outputs it allocates) is
 * device memory. A failing call records the error in the state; later
 * calls do nothing and the run returns that error. */
typedef struct tern_abi_gpu {
  /* The loaded module of a kernel image (a cubin, or NUL-terminated PTX),
   * loaded once per model and cached by the image's address. */
  void *(*module)(void *state, const void *image);
  void *(*function)(void *state, void *module, const char *name);
  void (*launch)(void *state, void *function, int64_t grid_x, int64_t grid_y, int64_t grid_z, int64_t block_x,
                 int64_t block_y, int64_t block_z, int32_t shared_bytes, void **params);
  void *(*alloc)(void *state, int64_t bytes);
  void (*free)(void *state, void *ptr);
} tern_abi_gpu;

#define TERN_DEVICE_CPU 0
#define TERN_DEVICE_CUDA 1

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
  int64_t device;           /* TERN_DEVICE_CPU, or TERN_DEVICE_CUDA: the entry runs on device buffers */
  const char *device_arch;  /* the GPU it was compiled for ("sm_90"), or NULL */
  /* Temporaries whose size scales with one or two inputs' dims (a batch
   * known at run time; a transformer's batch x sequence): the arena holds
   * arena_size bytes (rounded up to 64), then arena_scaled_size bytes per
   * unit of inputs[arena_scale_input].dims[arena_scale_dim] times, when
   * arena_scale_input2 is not -1, inputs[arena_scale_input2].dims
   * [arena_scale_dim2]. No such temporaries: arena_scale_input is -1. */
  int64_t arena_scaled_size;
  int64_t arena_scale_input;
  int64_t arena_scale_dim;
  int64_t arena_scale_input2;
  int64_t arena_scale_dim2;
  /* What each of the model's run-time checks tests, for the error a failed
   * one becomes ("node 'Add_3' (tern.add): operand 1, dim 0"). */
  int64_t num_checks;
  const char *const *checks;
} tern_abi_model;

#endif /* TERN_ABI_H */
