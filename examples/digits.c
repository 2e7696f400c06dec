/*===- digits.c - classify the bundled digit images with a compiled model ---===
 *
 *   build/bin/ternc models/digits-mlp.onnx -o build/digits.so
 *   build/bin/tern-digits build/digits.so models/digits-test-x.npy models/digits-test-y.npy
 *
 * Opens the library with tern's runtime, runs all test images as one batch
 * and prints the accuracy. A complete example of the C API (tern/tern.h).
 *===----------------------------------------------------------------------===*/
#include <tern/tern.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a little-endian .npy file of a 1-D or 2-D array: its dims and data. */
static void *read_npy(const char *path, const char *descr, long dims[2], int *rank) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  unsigned char pre[10];
  char header[1024];
  void *data = NULL;
  if (fread(pre, 1, 10, f) == 10 && !memcmp(pre, "\x93NUMPY", 6) && pre[6] == 1) {
    size_t len = (size_t)(pre[8] | pre[9] << 8);
    if (len < sizeof header && fread(header, 1, len, f) == len) {
      header[len] = 0;
      const char *shape = strstr(header, "'shape': (");
      if (strstr(header, descr) && shape) {
        *rank = sscanf(shape, "'shape': (%ld, %ld", &dims[0], &dims[1]);
        size_t count = (size_t)dims[0] * (*rank == 2 ? (size_t)dims[1] : 1);
        size_t esize = strchr(descr, '4') ? 4 : 8;
        data = malloc(count * esize);
        if (data && fread(data, esize, count, f) != count) {
          free(data);
          data = NULL;
        }
      }
    }
  }
  fclose(f);
  return data;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s MODEL.so IMAGES.npy LABELS.npy\n", argv[0]);
    return 2;
  }
  long xd[2], yd[2];
  int xr = 0, yr = 0;
  float *images = read_npy(argv[2], "'<f4'", xd, &xr);
  long long *labels = read_npy(argv[3], "'<i8'", yd, &yr);
  if (!images || !labels || xr != 2 || yr != 1 || xd[0] != yd[0]) {
    fprintf(stderr, "cannot read %s (float32 [N, 64]) and %s (int64 [N])\n", argv[2], argv[3]);
    return 2;
  }

  tern_model *model;
  if (tern_model_open(argv[1], NULL, &model) != TERN_OK) {
    fprintf(stderr, "%s\n", tern_last_error());
    return 2;
  }
  tern_tensor input = {.dtype = TERN_FLOAT, .rank = 2, .dims = {xd[0], xd[1]}, .data = images,
                       .size_bytes = (size_t)(xd[0] * xd[1]) * sizeof(float)};
  tern_tensor probs = {0}; /* data NULL: the runtime allocates the output */
  if (tern_model_run(model, &input, 1, &probs, 1) != TERN_OK) {
    fprintf(stderr, "%s\n", tern_last_error());
    return 2;
  }
  long correct = 0, classes = (long)probs.dims[1];
  const float *p = probs.data;
  for (long i = 0; i < xd[0]; ++i) {
    long best = 0;
    for (long c = 1; c < classes; ++c)
      if (p[i * classes + c] > p[i * classes + best])
        best = c;
    correct += best == labels[i];
  }
  printf("%s: %ld of %ld test images classified correctly: %.2f%% accuracy\n", tern_model_name(model), correct,
         xd[0], 100.0 * (double)correct / (double)xd[0]);
  tern_tensor_release(&probs);
  tern_model_close(model);
  free(images);
  free(labels);
  return 0;
}
