//===- ModelImporter.cpp - ONNX ModelProto into a tern module ------------===//

#include "tern/Importer/Importer.h"

#include "NodeImporter.h"
#include "TensorImporter.h"
#include "dialects/Tern/TernOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <onnx/defs/parser.h>

using namespace mlir;

namespace tern {

void registerImporterDialects(DialectRegistry &registry) {
  registry.insert<TernDialect, func::FuncDialect>();
}

namespace {

/// Opsets of the default domain the importer handles.
constexpr int64_t kMinOpset = 7, kMaxOpset = 21;

class ModelImporter {
public:
  ModelImporter(MLIRContext &ctx, std::shared_ptr<const onnx::ModelProto> model,
                std::string baseDir, const ImportOptions &options)
      : ctx(ctx), model(std::move(model)), external(std::move(baseDir)), options(options),
        builder(&ctx) {}

  FailureOr<OwningOpRef<ModuleOp>> run();

private:
  LogicalResult fail(const Twine &message) {
    emitError(UnknownLoc::get(&ctx)) << message;
    return failure();
  }
  LogicalResult readOpsets();
  FailureOr<RankedTensorType> inputType(const onnx::ValueInfoProto &info);
  LogicalResult importNode(const onnx::NodeProto &node, int64_t index);
  void eraseDeadOps(func::FuncOp func);

  MLIRContext &ctx;
  std::shared_ptr<const onnx::ModelProto> model;
  ExternalData external;
  const ImportOptions &options;
  OpBuilder builder;
  llvm::StringMap<int64_t> opsets;
  llvm::StringMap<Value> values;
  /// Node outputs tern does not compute, with the reason, for messages.
  llvm::StringMap<std::string> unsupportedOutputs;
  std::unique_ptr<TensorImportContext> tensorContext;
};

LogicalResult ModelImporter::readOpsets() {
  for (const onnx::OperatorSetIdProto &o : model->opset_import()) {
    std::string domain = o.domain() == "ai.onnx" ? "" : o.domain();
    opsets[domain] = o.version();
  }
  auto it = opsets.find("");
  if (it == opsets.end()) {
    if (model->opset_import_size() == 0)
      return fail("the model imports no opset");
    return success(); // only custom domains
  }
  if (it->second < kMinOpset || it->second > kMaxOpset)
    return fail("the model uses default-domain opset " + Twine(it->second) +
                "; tern supports opsets " + Twine(kMinOpset) + " to " + Twine(kMaxOpset));
  return success();
}

FailureOr<RankedTensorType> ModelImporter::inputType(const onnx::ValueInfoProto &info) {
  const std::string &name = info.name();
  if (!info.type().has_tensor_type())
    return (void)fail("graph input '" + name + "' is not a tensor (sequences, maps and optionals "
                "are not supported)"),
           failure();
  const onnx::TypeProto::Tensor &tt = info.type().tensor_type();
  Type element = convertElementType(&ctx, tt.elem_type());
  if (!element)
    return (void)fail("graph input '" + name + "' has unsupported element type " +
                onnxTypeName(tt.elem_type())),
           failure();
  auto pinned = options.inputShapes.find(name);
  if (!tt.has_shape()) {
    if (pinned == options.inputShapes.end())
      return (void)fail("graph input '" + name + "' has no shape; give one with --input-shape " +
                  name + "=DIMS"),
             failure();
    return RankedTensorType::get(pinned->second, element);
  }
  SmallVector<int64_t> shape;
  for (const onnx::TensorShapeProto::Dimension &d : tt.shape().dim()) {
    if (d.has_dim_value() && d.dim_value() < 0)
      return (void)fail("graph input '" + name + "' has negative dim " + Twine(d.dim_value())),
             failure();
    shape.push_back(d.has_dim_value() ? d.dim_value() : ShapedType::kDynamic);
  }
  if (pinned != options.inputShapes.end()) {
    ArrayRef<int64_t> want = pinned->second;
    auto str = [](ArrayRef<int64_t> s) {
      std::string r;
      for (auto [i, d] : llvm::enumerate(s))
        r += (i ? "x" : "") + (d == ShapedType::kDynamic ? std::string("?") : std::to_string(d));
      return r.empty() ? std::string("scalar") : r;
    };
    if (want.size() != shape.size())
      return (void)fail("--input-shape " + name + "=" + str(want) + " has rank " + Twine(want.size()) +
                  ", but the model declares " + name + " as " + str(shape)),
             failure();
    for (auto [w, s] : llvm::zip(want, shape))
      if (s != ShapedType::kDynamic && w != s)
        return (void)fail("--input-shape " + name + "=" + str(want) +
                    " contradicts the model's static shape " + str(shape)),
               failure();
    shape.assign(want.begin(), want.end());
  }
  return RankedTensorType::get(shape, element);
}

LogicalResult ModelImporter::importNode(const onnx::NodeProto &node, int64_t index) {
  std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
  auto opsetIt = opsets.find(domain);
  int64_t opset = opsetIt == opsets.end() ? -1 : opsetIt->second;
  std::string nodeName = node.name().empty()
                             ? (node.op_type() + "_" + std::to_string(index))
                             : node.name();
  Location loc = NameLoc::get(builder.getStringAttr(nodeName));

  NodeImporter importer(node, index, domain, opset, builder, loc,
                        [&](StringRef name) -> Value { return values.lookup(name); });
  if (opset < 0)
    return importer.fail("the model does not import the domain '" + domain + "'");
  for (const onnx::AttributeProto &a : node.attribute())
    if (a.has_g() || a.graphs_size())
      return importer.fail("control flow with subgraphs is not supported");
  for (int i = 0; i < node.input_size(); ++i) {
    const std::string &in = node.input(i);
    if (in.empty() || values.count(in))
      continue;
    auto unsupported = unsupportedOutputs.find(in);
    if (unsupported != unsupportedOutputs.end())
      return importer.fail("input '" + in + "' is " + unsupported->second);
    return importer.fail("input '" + in +
                         "' is not defined before this node (the graph must be "
                         "topologically sorted)");
  }

  importer.tensors = tensorContext.get();
  const ImporterRegistry &registry = ImporterRegistry::get();
  const ImportFn *fn = registry.lookup(domain, node.op_type(), opset);
  if (!fn)
    return importer.fail(registry.knows(domain, node.op_type())
                             ? "this opset version of the operator is not supported"
                             : "unsupported operator");
  if (failed((*fn)(importer)))
    return failure();
  for (auto &[name, value] : importer.outputs)
    values[name] = value;
  for (int i = 0; i < node.output_size(); ++i)
    if (!node.output(i).empty() && !values.count(node.output(i)))
      unsupportedOutputs[node.output(i)] =
          "output #" + std::to_string(i) + " of " + importer.describe() +
          ", which tern does not compute";
  return success();
}

void ModelImporter::eraseDeadOps(func::FuncOp func) {
  // Folding leaves the shape arithmetic it consumed unused; every tern op is
  // pure, so unused ones go.
  SmallVector<Operation *> ops;
  func.walk([&](Operation *op) {
    if (isa<TernDialect>(op->getDialect()))
      ops.push_back(op);
  });
  for (Operation *op : llvm::reverse(ops))
    if (op->use_empty())
      op->erase();
}

FailureOr<OwningOpRef<ModuleOp>> ModelImporter::run() {
  ctx.loadDialect<TernDialect, func::FuncDialect>();
  if (failed(readOpsets()))
    return failure();
  const onnx::GraphProto &graph = model->graph();
  if (graph.sparse_initializer_size())
    return (void)fail("sparse initializers are not supported"), failure();

  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&ctx));
  builder.setInsertionPointToEnd(module->getBody());

  for (const auto &entry : options.inputShapes) {
    std::string name = entry.getKey().str();
    bool found = llvm::any_of(graph.input(),
                              [&](const onnx::ValueInfoProto &i) { return i.name() == name; });
    if (!found) {
      std::string names;
      for (const onnx::ValueInfoProto &i : graph.input())
        names += (names.empty() ? "" : ", ") + i.name();
      return (void)fail("--input-shape names '" + name + "', which is not a graph input (inputs: " +
                  names + ")"),
             failure();
    }
  }

  // Inputs that are also initializers are constants with a default value.
  llvm::StringSet<> initializerNames;
  for (const onnx::TensorProto &t : graph.initializer())
    initializerNames.insert(t.name());
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  SmallVector<ArrayAttr> argDimNames;
  for (const onnx::ValueInfoProto &info : graph.input()) {
    if (initializerNames.contains(info.name()))
      continue;
    FailureOr<RankedTensorType> type = inputType(info);
    if (failed(type))
      return failure();
    argTypes.push_back(*type);
    argNames.push_back(info.name());
    // The names of dynamic dims ("batch", "sequence"), for the runtime API.
    SmallVector<Attribute> dimNames;
    if (info.type().has_tensor_type() && info.type().tensor_type().has_shape())
      for (const auto &dim : info.type().tensor_type().shape().dim())
        dimNames.push_back(builder.getStringAttr(dim.has_dim_param() ? dim.dim_param() : ""));
    argDimNames.push_back(builder.getArrayAttr(dimNames));
  }

  auto func = func::FuncOp::create(builder, UnknownLoc::get(&ctx), "main",
                                   builder.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  for (auto [i, name] : llvm::enumerate(argNames)) {
    func.setArgAttr(i, "tern.name", builder.getStringAttr(name));
    if (llvm::any_of(argDimNames[i], [](Attribute a) { return !cast<StringAttr>(a).getValue().empty(); }))
      func.setArgAttr(i, "tern.dim_names", argDimNames[i]);
    if (values.count(name))
      return (void)fail("graph input '" + name + "' is declared twice"), failure();
    values[name] = entry->getArgument(i);
  }

  tensorContext = std::make_unique<TensorImportContext>(
      TensorImportContext{&ctx, &external, model, options.inlineConstantBytes});
  for (const onnx::TensorProto &t : graph.initializer()) {
    llvm::Expected<ElementsAttr> attr = importTensor(t, *tensorContext);
    if (!attr)
      return (void)fail("initializer: " + llvm::toString(attr.takeError())), failure();
    Location loc = NameLoc::get(builder.getStringAttr(t.name()));
    values[t.name()] = ConstantOp::create(builder, loc, *attr);
  }

  for (auto [index, node] : llvm::enumerate(graph.node())) {
    if (failed(importNode(node, index)))
      return failure();
  }

  SmallVector<Value> results;
  for (const onnx::ValueInfoProto &out : graph.output()) {
    Value v = values.lookup(out.name());
    if (!v) {
      auto unsupported = unsupportedOutputs.find(out.name());
      return (void)fail("graph output '" + out.name() + "' is " +
                  (unsupported != unsupportedOutputs.end() ? unsupported->second
                                                           : std::string("never computed"))),
             failure();
    }
    results.push_back(v);
  }
  SmallVector<std::string> resultNames;
  for (const onnx::ValueInfoProto &out : graph.output())
    resultNames.push_back(out.name());
  if (options.exposeIntermediates) {
    // The intermediates first, in graph order, then the graph outputs: the
    // results follow the graph.
    llvm::DenseSet<Value> returned(results.begin(), results.end());
    SmallVector<Value> exposed;
    SmallVector<std::string> exposedNames;
    for (const onnx::NodeProto &node : graph.node())
      for (const std::string &name : node.output()) {
        Value v = name.empty() ? Value() : values.lookup(name);
        auto type = v ? dyn_cast<RankedTensorType>(v.getType()) : RankedTensorType();
        if (!type || !isa<FloatType>(type.getElementType()) || v.getDefiningOp<ConstantOp>() ||
            isa<BlockArgument>(v) || !returned.insert(v).second)
          continue;
        exposed.push_back(v);
        exposedNames.push_back(name);
      }
    results.insert(results.begin(), exposed.begin(), exposed.end());
    resultNames.insert(resultNames.begin(), exposedNames.begin(), exposedNames.end());
  }
  func::ReturnOp::create(builder, UnknownLoc::get(&ctx), results);
  func.setType(builder.getFunctionType(argTypes, ValueRange(results).getTypes()));
  for (auto [i, name] : llvm::enumerate(resultNames))
    func.setResultAttr(i, "tern.name", builder.getStringAttr(name));
  eraseDeadOps(func);

  if (failed(mlir::verify(*module)))
    return failure();
  return module;
}

} // namespace

/// Holds the onnx model that constant blobs may point into.
static FailureOr<OwningOpRef<ModuleOp>> importModel(MLIRContext &context,
                                                    std::shared_ptr<onnx::ModelProto> model,
                                                    StringRef baseDir,
                                                    const ImportOptions &options) {
  ModelImporter importer(context, std::move(model), baseDir.str(), options);
  return importer.run();
}

FailureOr<OwningOpRef<ModuleOp>> importOnnxBytes(MLIRContext &context, StringRef bytes,
                                                 StringRef baseDir,
                                                 const ImportOptions &options) {
  auto model = std::make_shared<onnx::ModelProto>();
  bool ok = false;
  try {
    ok = bytes.size() <= (size_t)INT32_MAX && model->ParseFromArray(bytes.data(), (int)bytes.size());
  } catch (const std::exception &) {
    ok = false;
  }
  if (!ok) {
    emitError(UnknownLoc::get(&context))
        << "the file is not a valid ONNX model (protobuf parsing failed: malformed or truncated)";
    return failure();
  }
  return importModel(context, std::move(model), baseDir, options);
}

FailureOr<OwningOpRef<ModuleOp>> importOnnxFile(MLIRContext &context, StringRef path,
                                                const ImportOptions &options) {
  Location loc = UnknownLoc::get(&context);
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/true);
  if (!file) {
    emitError(loc) << "cannot read '" << path << "': " << file.getError().message();
    return failure();
  }
  SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  if (dir.empty())
    dir = ".";
  if (!path.ends_with(".onnxtext"))
    return importOnnxBytes(context, (*file)->getBuffer(), dir, options);

  auto model = std::make_shared<onnx::ModelProto>();
  try {
    onnx::Common::Status status = onnx::OnnxParser::Parse(*model, (*file)->getBufferStart());
    if (!status.IsOK()) {
      emitError(loc) << "cannot parse '" << path << "' as textual ONNX: " << status.ErrorMessage();
      return failure();
    }
  } catch (const std::exception &e) {
    emitError(loc) << "cannot parse '" << path << "' as textual ONNX: " << e.what();
    return failure();
  }
  return importModel(context, std::move(model), dir, options);
}

} // namespace tern
