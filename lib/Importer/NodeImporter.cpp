//===- NodeImporter.cpp - importing one ONNX node ------------------------===//

#include "NodeImporter.h"

#include "dialects/Tern/TernOps.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/ADT/ScopeExit.h"

using namespace mlir;

namespace tern {

//===----------------------------------------------------------------------===//
// ImporterRegistry
//===----------------------------------------------------------------------===//

static std::string registryKey(StringRef domain, StringRef opType) {
  if (domain == "ai.onnx")
    domain = "";
  return (domain + "::" + opType).str();
}

void ImporterRegistry::add(StringRef domain, StringRef opType, ImportFn fn, int64_t minOpset) {
  fns[registryKey(domain, opType)].push_back({minOpset, std::move(fn)});
}

const ImportFn *ImporterRegistry::lookup(StringRef domain, StringRef opType, int64_t opset) const {
  auto it = fns.find(registryKey(domain, opType));
  if (it == fns.end())
    return nullptr;
  const ImportFn *best = nullptr;
  int64_t bestVersion = -1;
  for (const auto &[version, fn] : it->second)
    if (version <= opset && version > bestVersion) {
      best = &fn;
      bestVersion = version;
    }
  return best;
}

bool ImporterRegistry::knows(StringRef domain, StringRef opType) const {
  return fns.count(registryKey(domain, opType));
}

const ImporterRegistry &ImporterRegistry::get() {
  static const ImporterRegistry registry = [] {
    ImporterRegistry r;
    registerMathImporters(r);
    registerNNImporters(r);
    registerTensorImporters(r);
    registerQuantImporters(r);
    return r;
  }();
  return registry;
}

//===----------------------------------------------------------------------===//
// NodeImporter
//===----------------------------------------------------------------------===//

NodeImporter::NodeImporter(const onnx::NodeProto &node, int64_t index, StringRef domain,
                           int64_t opset, OpBuilder &builder, Location loc,
                           std::function<Value(StringRef)> lookupValue)
    : node(node), index(index), domain(domain.str()), opset(opset), builder(builder), loc(loc),
      lookupValue(std::move(lookupValue)) {}

std::string NodeImporter::describe() const {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "node '" << node.name() << "' (#" << index << ", " << node.op_type() << ", domain '"
     << (domain.empty() ? "ai.onnx" : domain) << "', opset " << opset << ")";
  return s;
}

LogicalResult NodeImporter::fail(const Twine &message) const {
  emitError(loc) << describe() << ": " << message;
  return failure();
}

bool NodeImporter::hasInput(int64_t i) const {
  return i < node.input_size() && !node.input(i).empty();
}

Value NodeImporter::input(int64_t i) const {
  if (!hasInput(i))
    return {};
  return lookupValue(node.input(i));
}

RankedTensorType NodeImporter::inputType(int64_t i) const {
  Value v = input(i);
  return v ? cast<RankedTensorType>(v.getType()) : RankedTensorType();
}

std::optional<SmallVector<int64_t>> NodeImporter::constantInts(int64_t i) const {
  Value v = input(i);
  if (!v)
    return std::nullopt;
  return getConstantInts(v);
}

LogicalResult NodeImporter::requireInputs(int64_t n) const {
  for (int64_t i = 0; i < n; ++i)
    if (!hasInput(i))
      return fail("input #" + Twine(i) + " is required");
  return success();
}

const onnx::AttributeProto *NodeImporter::attr(StringRef name) const {
  for (const onnx::AttributeProto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t NodeImporter::getInt(StringRef name, int64_t dflt) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->i() : dflt;
}

float NodeImporter::getFloat(StringRef name, float dflt) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->f() : dflt;
}

std::string NodeImporter::getString(StringRef name, StringRef dflt) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->s() : dflt.str();
}

SmallVector<int64_t> NodeImporter::getInts(StringRef name, ArrayRef<int64_t> dflt) const {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return SmallVector<int64_t>(dflt);
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

LogicalResult NodeImporter::checkAttrs(ArrayRef<StringRef> known) const {
  for (const onnx::AttributeProto &a : node.attribute())
    if (!llvm::is_contained(known, StringRef(a.name())))
      return fail("unsupported attribute '" + a.name() + "'");
  return success();
}

NamedAttribute NodeImporter::named(StringRef name, Attribute value) const {
  return builder.getNamedAttr(name, value);
}
NamedAttribute NodeImporter::i64(StringRef name, int64_t v) const {
  return named(name, builder.getI64IntegerAttr(v));
}
NamedAttribute NodeImporter::f32(StringRef name, float v) const {
  return named(name, builder.getF32FloatAttr(v));
}
NamedAttribute NodeImporter::boolean(StringRef name, bool v) const {
  return named(name, builder.getBoolAttr(v));
}
NamedAttribute NodeImporter::str(StringRef name, StringRef v) const {
  return named(name, builder.getStringAttr(v));
}
NamedAttribute NodeImporter::ints(StringRef name, ArrayRef<int64_t> v) const {
  return named(name, builder.getDenseI64ArrayAttr(v));
}
NamedAttribute NodeImporter::type(StringRef name, Type t) const {
  return named(name, TypeAttr::get(t));
}
NamedAttribute NodeImporter::segments(ArrayRef<int32_t> sizes) const {
  return named("operandSegmentSizes", builder.getDenseI32ArrayAttr(sizes));
}

FailureOr<SmallVector<Value>> NodeImporter::create(StringRef name, ArrayRef<Value> operands,
                                                   ArrayRef<NamedAttribute> attrs) {
  MLIRContext *ctx = builder.getContext();
  std::string fullName = ("tern." + name).str();
  std::optional<RegisteredOperationName> opName = RegisteredOperationName::lookup(fullName, ctx);
  if (!opName)
    return fail("internal error: no op " + fullName);
  SmallVector<Value> present;
  for (Value v : operands)
    if (v)
      present.push_back(v);
  NamedAttrList attrList(attrs);
  DictionaryAttr dict = attrList.getDictionary(ctx);

  // Every tern attribute is inherent, held in the op's properties; inference
  // reads them from there.
  std::string diagnostics;
  auto collect = [&](Diagnostic &d) {
    if (!diagnostics.empty())
      diagnostics += "; ";
    diagnostics += d.str();
    return success();
  };
  SmallVector<Type> types;
  std::string problem;
  {
    // Diagnostics emitted while this handler lives are collected into one
    // message; errors naming the node are emitted after it is gone.
    ScopedDiagnosticHandler handler(ctx, collect);
    int size = opName->getOpPropertyByteSize();
    std::vector<uint64_t> storage((size + 7) / 8 + 1);
    OpaqueProperties props(size ? storage.data() : nullptr);
    if (size)
      opName->initOpProperties(props, nullptr);
    llvm::scope_exit cleanup([&] {
      if (size)
        opName->destroyOpProperties(props);
    });
    if (size && failed(opName->setOpPropertiesFromAttribute(
                    *opName, props, dict, [&]() { return emitError(loc); })))
      problem = diagnostics.empty() ? "invalid attributes" : diagnostics;
    else if (failed(opName->getInterface<InferTypeOpInterface>()->inferReturnTypes(
                 ctx, loc, present, dict, props, {}, types)))
      problem = diagnostics.empty() ? "cannot infer the result types" : diagnostics;
  }
  if (!problem.empty())
    return fail(problem);

  OperationState state(loc, *opName);
  state.addOperands(present);
  state.addTypes(types);
  if (opName->getOpPropertyByteSize())
    state.propertiesAttr = dict;
  else
    state.addAttributes(attrs);
  Operation *op = builder.create(state);
  bool invalid;
  {
    ScopedDiagnosticHandler handler(ctx, collect);
    invalid = failed(mlir::verify(op, /*verifyRecursively=*/false));
  }
  if (invalid) {
    op->erase();
    return fail(diagnostics);
  }
  SmallVector<Value> folded;
  if (succeeded(builder.tryFold(op, folded)) && !folded.empty()) {
    op->erase();
    return folded;
  }
  return SmallVector<Value>(op->getResults());
}

Value NodeImporter::createOne(StringRef name, ArrayRef<Value> operands,
                              ArrayRef<NamedAttribute> attrs) {
  FailureOr<SmallVector<Value>> r = create(name, operands, attrs);
  if (failed(r))
    return {};
  return r->front();
}

Value NodeImporter::constI64(ArrayRef<int64_t> values, bool scalar) {
  auto type = RankedTensorType::get(scalar ? ArrayRef<int64_t>{} : ArrayRef<int64_t>{(int64_t)values.size()},
                                    builder.getI64Type());
  return ConstantOp::create(builder, loc, DenseIntElementsAttr::get(type, values));
}

Value NodeImporter::constScalar(Type elementType, double v) {
  auto type = RankedTensorType::get({}, elementType);
  Attribute attr;
  if (auto ft = dyn_cast<FloatType>(elementType)) {
    APFloat f(v);
    bool lost;
    f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    attr = DenseElementsAttr::get(type, f);
  } else {
    auto it = cast<IntegerType>(elementType);
    attr = DenseElementsAttr::get(type, APInt(it.getWidth(), (uint64_t)(int64_t)v,
                                              !it.isUnsigned(), true));
  }
  return ConstantOp::create(builder, loc, cast<ElementsAttr>(attr));
}

FailureOr<int64_t> NodeImporter::axis(int64_t a, int64_t rank) const {
  if (a < -rank || a >= rank) {
    (void)fail("axis " + Twine(a) + " is out of range for rank " + Twine(rank));
    return failure();
  }
  return a < 0 ? a + rank : a;
}

FailureOr<SmallVector<int64_t>> NodeImporter::axes(ArrayRef<int64_t> a, int64_t rank) const {
  SmallVector<int64_t> result;
  for (int64_t x : a) {
    FailureOr<int64_t> n = axis(x, rank);
    if (failed(n))
      return failure();
    if (llvm::is_contained(result, *n)) {
      (void)fail("axis " + Twine(x) + " is repeated");
      return failure();
    }
    result.push_back(*n);
  }
  llvm::sort(result);
  return result;
}

LogicalResult NodeImporter::setOutputs(ValueRange values) {
  if ((int64_t)values.size() > node.output_size())
    return fail("internal error: more results than node outputs");
  for (auto [i, v] : llvm::enumerate(values))
    if (!node.output(i).empty())
      outputs.push_back({node.output(i), v});
  return success();
}

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

Type convertElementType(MLIRContext *ctx, int32_t t) {
  Builder b(ctx);
  auto u = [&](unsigned w) { return IntegerType::get(ctx, w, IntegerType::Unsigned); };
  switch (t) {
  case 1: return b.getF32Type();
  case 2: return u(8);
  case 3: return b.getIntegerType(8);
  case 4: return u(16);
  case 5: return b.getIntegerType(16);
  case 6: return b.getIntegerType(32);
  case 7: return b.getIntegerType(64);
  case 9: return b.getI1Type();
  case 10: return b.getF16Type();
  case 11: return b.getF64Type();
  case 12: return u(32);
  case 13: return u(64);
  case 16: return b.getBF16Type();
  case 17: return Float8E4M3FNType::get(ctx);
  case 18: return Float8E4M3FNUZType::get(ctx);
  case 19: return Float8E5M2Type::get(ctx);
  case 20: return Float8E5M2FNUZType::get(ctx);
  case 21: return u(4);
  case 22: return b.getIntegerType(4);
  default: return {};
  }
}

StringRef onnxTypeName(int32_t t) {
  static const char *names[] = {"undefined", "float",  "uint8",   "int8",          "uint16",
                                "int16",     "int32",  "int64",   "string",        "bool",
                                "float16",   "double", "uint32",  "uint64",        "complex64",
                                "complex128", "bfloat16", "float8e4m3fn", "float8e4m3fnuz",
                                "float8e5m2", "float8e5m2fnuz", "uint4", "int4"};
  if (t < 0 || t >= (int32_t)std::size(names))
    return "unknown";
  return names[t];
}

} // namespace tern
