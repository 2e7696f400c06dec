//===- Driver.h - the entry points of tern's tools -----------------------===//
//
// Tool mains are one line each; the logic lives here so it can be tested
// and shared.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_DRIVER_DRIVER_H
#define TERN_DRIVER_DRIVER_H

namespace tern {

/// `ternc MODEL.onnx [options]`: imports and compiles a model.
int terncMain(int argc, char **argv);

/// `tern-opt`: mlir-opt with tern's dialects, passes and pipelines.
int ternOptMain(int argc, char **argv);

} // namespace tern

#endif // TERN_DRIVER_DRIVER_H
