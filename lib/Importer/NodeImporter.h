//===- NodeImporter.h - importing one ONNX node --------------------------===//
//
// Each ONNX op has an import function (ImportMath.cpp, ImportNN.cpp, ...)
// that reads the node's inputs and attributes through a NodeImporter,
// resolves the opset-dependent defaults, and creates tern ops with
// `create`, which infers result types and folds constants as it goes.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_LIB_IMPORTER_NODEIMPORTER_H
#define TERN_LIB_IMPORTER_NODEIMPORTER_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringMap.h"

#include <onnx/onnx_pb.h>

#include <functional>
#include <optional>
#include <string>

namespace tern {

class NodeImporter;
struct TensorImportContext;
using ImportFn = std::function<llvm::LogicalResult(NodeImporter &)>;

/// Import functions by domain and op type.
class ImporterRegistry {
public:
  /// `minOpset`: the first opset of the domain the function handles.
  void add(llvm::StringRef domain, llvm::StringRef opType, ImportFn fn, int64_t minOpset = 1);
  /// The function for an op at a given opset, or null.
  const ImportFn *lookup(llvm::StringRef domain, llvm::StringRef opType, int64_t opset) const;
  bool knows(llvm::StringRef domain, llvm::StringRef opType) const;

  static const ImporterRegistry &get();

private:
  llvm::StringMap<std::vector<std::pair<int64_t, ImportFn>>> fns;
};

void registerMathImporters(ImporterRegistry &registry);
void registerNNImporters(ImporterRegistry &registry);
void registerTensorImporters(ImporterRegistry &registry);
void registerQuantImporters(ImporterRegistry &registry);

/// The default ONNX domain is "" (also spelled "ai.onnx").
inline constexpr llvm::StringLiteral kMicrosoftDomain = "com.microsoft";

class NodeImporter {
public:
  NodeImporter(const onnx::NodeProto &node, int64_t index, llvm::StringRef domain, int64_t opset,
               mlir::OpBuilder &builder, mlir::Location loc,
               std::function<mlir::Value(llvm::StringRef)> lookupValue);

  const onnx::NodeProto &node;
  const int64_t index;
  const std::string domain;
  const int64_t opset;
  mlir::OpBuilder &builder;
  const mlir::Location loc;
  /// For ops that carry tensors (Constant).
  TensorImportContext *tensors = nullptr;

  /// "node 'name' (#3, Reshape, domain 'ai.onnx', opset 17)".
  std::string describe() const;
  /// Emits an error naming the node; returns failure.
  llvm::LogicalResult fail(const llvm::Twine &message) const;

  // Inputs. A missing or empty-named input is absent.
  int64_t numInputs() const { return node.input_size(); }
  bool hasInput(int64_t i) const;
  mlir::Value input(int64_t i) const; ///< null when absent
  mlir::RankedTensorType inputType(int64_t i) const;
  /// The constant integer values of input i (axes, pads, shapes...).
  std::optional<llvm::SmallVector<int64_t>> constantInts(int64_t i) const;
  /// Fails (with a message) unless inputs [0, n) are present.
  llvm::LogicalResult requireInputs(int64_t n) const;

  // Attributes, with defaults.
  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  bool hasAttr(llvm::StringRef name) const { return attr(name) != nullptr; }
  int64_t getInt(llvm::StringRef name, int64_t dflt) const;
  float getFloat(llvm::StringRef name, float dflt) const;
  std::string getString(llvm::StringRef name, llvm::StringRef dflt) const;
  llvm::SmallVector<int64_t> getInts(llvm::StringRef name,
                                     llvm::ArrayRef<int64_t> dflt = {}) const;
  /// The names of attributes the node carries that `known` does not list.
  llvm::LogicalResult checkAttrs(llvm::ArrayRef<llvm::StringRef> known) const;

  // Building.
  mlir::NamedAttribute named(llvm::StringRef name, mlir::Attribute value) const;
  mlir::NamedAttribute i64(llvm::StringRef name, int64_t v) const;
  mlir::NamedAttribute f32(llvm::StringRef name, float v) const;
  mlir::NamedAttribute boolean(llvm::StringRef name, bool v) const;
  mlir::NamedAttribute str(llvm::StringRef name, llvm::StringRef v) const;
  mlir::NamedAttribute ints(llvm::StringRef name, llvm::ArrayRef<int64_t> v) const;
  mlir::NamedAttribute type(llvm::StringRef name, mlir::Type t) const;
  /// `operandSegmentSizes` for ops with several optional operands.
  mlir::NamedAttribute segments(llvm::ArrayRef<int32_t> sizes) const;

  /// Creates `tern.<name>` with inferred result types, folding it when its
  /// operands are constants. Absent (null) operands are skipped. On failure
  /// the inference error is reported with the node's description.
  mlir::FailureOr<llvm::SmallVector<mlir::Value>>
  create(llvm::StringRef name, llvm::ArrayRef<mlir::Value> operands,
         llvm::ArrayRef<mlir::NamedAttribute> attrs = {});
  /// As create, for ops with one result; null on failure.
  mlir::Value createOne(llvm::StringRef name, llvm::ArrayRef<mlir::Value> operands,
                        llvm::ArrayRef<mlir::NamedAttribute> attrs = {});

  /// A constant i64 tensor: 1-D, or a scalar when `scalar`.
  mlir::Value constI64(llvm::ArrayRef<int64_t> values, bool scalar = false);
  /// A scalar constant of `elementType` with value v.
  mlir::Value constScalar(mlir::Type elementType, double v);

  /// Normalizes an axis against `rank`, failing with a message.
  mlir::FailureOr<int64_t> axis(int64_t a, int64_t rank) const;
  mlir::FailureOr<llvm::SmallVector<int64_t>> axes(llvm::ArrayRef<int64_t> a, int64_t rank) const;

  /// Binds the node's outputs in order; extra values are an error, fewer
  /// leave later outputs unbound (an error only if something reads them).
  llvm::LogicalResult setOutputs(mlir::ValueRange values);
  llvm::SmallVector<std::pair<std::string, mlir::Value>> outputs;

private:
  std::function<mlir::Value(llvm::StringRef)> lookupValue;
};

/// Conv/pool attributes with ONNX defaults resolved: kernel_shape (from
/// `kernel` when the node has none), strides, dilations, pads, auto_pad
/// (VALID becomes explicit zero pads; SAME_* becomes explicit pads when the
/// input's spatial dims are static).
mlir::FailureOr<llvm::SmallVector<mlir::NamedAttribute>>
importWindowAttrs(NodeImporter &n, mlir::RankedTensorType x, llvm::ArrayRef<int64_t> kernel);

/// The MLIR element type of an ONNX TensorProto::DataType, or null.
mlir::Type convertElementType(mlir::MLIRContext *ctx, int32_t onnxType);
/// The ONNX type name ("float", "int64"...) for messages.
llvm::StringRef onnxTypeName(int32_t onnxType);

} // namespace tern

#endif // TERN_LIB_IMPORTER_NODEIMPORTER_H
