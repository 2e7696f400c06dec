/*===- cuda.h - the runtime's CUDA layer, for models compiled for a GPU ----===
 *
 * Opens libcuda.so.1 when a GPU model is opened (no link-time CUDA
 * dependency: a machine without a GPU or driver gets an error status), holds
 * the model's device: its context, weights uploaded once, kernel modules
 * loaded on first use, and the tern_abi_gpu table its host code calls.
 *===----------------------------------------------------------------------===*/
#ifndef TERN_RUNTIME_CUDA_H
#define TERN_RUNTIME_CUDA_H

#include "tern/tern.h"
#include "tern/tern_abi.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tern_cuda tern_cuda;

/* Loads the driver, picks the device (TERN_CUDA_DEVICE, default 0), checks
 * it can run code for `abi->device_arch`, uploads `weights`. On failure the
 * runtime's last error says why. */
tern_status tern_cuda_open(const tern_abi_model *abi, const uint8_t *weights, tern_cuda **out);
void tern_cuda_close(tern_cuda *c);

/* The table a GPU model's hooks carry, and its state argument. */
const tern_abi_gpu *tern_cuda_table(void);

/* A run on the device, serialized per model: enter makes the context
 * current and copies the inputs into the model's device input buffers
 * (kept and reused across runs, grown when an input grows), giving their
 * addresses in device_inputs[i]; the entry point then runs on those,
 * tern_cuda_weights and tern_cuda_arena; leave waits for the kernels,
 * turns each output descriptor in `results` (device memory the model
 * allocated, freed here) into a contiguous host copy the caller frees, and
 * returns the run's first error. */
tern_status tern_cuda_enter(tern_cuda *c, const tern_tensor *inputs, size_t num_inputs, void **device_inputs);
void *tern_cuda_weights(tern_cuda *c);
void *tern_cuda_arena(tern_cuda *c);
tern_status tern_cuda_leave(tern_cuda *c, const tern_abi_model *abi, int64_t *results);

#endif
