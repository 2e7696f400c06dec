//===- Codegen.cpp - LLVM IR, machine code and linking --------------------===//

#include "tern/Codegen/Codegen.h"
#include "tern/tern_abi.h"
#include "lib/Codegen/GPU/GPUHost.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Arith/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Affine/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Transforms/TilingInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Vector/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/GPUCommon/GPUToLLVM.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "lld/Common/Driver.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

LLD_HAS_DRIVER(elf)

using namespace mlir;

namespace tern {

//===-- the model's interface --------------------------------------------===//

static int64_t onnxType(Type t) {
  if (t.isF32()) return 1;
  if (t.isF16()) return 10;
  if (t.isBF16()) return 16;
  if (t.isF64()) return 11;
  if (auto i = dyn_cast<IntegerType>(t)) {
    bool u = i.isUnsigned();
    switch (i.getWidth()) {
    case 1: return 9;
    case 8: return u ? 2 : 3;
    case 16: return u ? 4 : 5;
    case 32: return u ? 12 : 6;
    case 64: return u ? 13 : 7;
    default: break;
    }
  }
  return 0;
}

FailureOr<ModelInterface> describeModel(ModuleOp module) {
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main)
    return module.emitError("no @main function"), failure();
  ModelInterface iface;
  auto describe = [&](Type type, DictionaryAttr attrs, std::vector<ModelInterface::Tensor> &out,
                      const char *what, unsigned i) -> LogicalResult {
    auto t = dyn_cast<RankedTensorType>(type);
    ModelInterface::Tensor d;
    if (auto name = attrs ? attrs.getAs<StringAttr>("tern.name") : StringAttr())
      d.name = name.str();
    else
      d.name = std::string(what) + std::to_string(i);
    if (!t || !(d.onnxType = onnxType(t.getElementType())))
      return main.emitError() << what << " '" << d.name << "' has type " << type
                              << ", which compiled models do not support yet";
    for (int64_t dim : t.getShape())
      d.dims.push_back(ShapedType::isDynamic(dim) ? -1 : dim);
    if (auto names = attrs ? attrs.getAs<ArrayAttr>("tern.dim_names") : ArrayAttr())
      for (Attribute n : names)
        d.dimNames.push_back(cast<StringAttr>(n).str());
    out.push_back(std::move(d));
    return success();
  };
  for (unsigned i = 0; i < main.getNumArguments(); ++i)
    if (failed(describe(main.getArgumentTypes()[i], main.getArgAttrDict(i), iface.inputs, "input", i)))
      return failure();
  for (unsigned i = 0; i < main.getNumResults(); ++i)
    if (failed(describe(main.getResultTypes()[i], main.getResultAttrDict(i), iface.outputs, "output", i)))
      return failure();
  return iface;
}

//===-- targets ----------------------------------------------------------===//

FailureOr<std::unique_ptr<llvm::TargetMachine>> createTargetMachine(const TargetSpec &spec, std::string &error) {
  static bool initialized = [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
    LLVMInitializeAArch64TargetInfo();
    LLVMInitializeAArch64Target();
    LLVMInitializeAArch64TargetMC();
    LLVMInitializeAArch64AsmPrinter();
    return true;
  }();
  (void)initialized;
  llvm::Triple host(llvm::sys::getDefaultTargetTriple());
  std::string arch = spec.arch.empty() ? host.getArchName().str() : spec.arch;
  if (arch == "arm64")
    arch = "aarch64";
  if (arch != "x86_64" && arch != "aarch64") {
    error = "unknown target '" + arch + "' (known: x86_64, aarch64)";
    return failure();
  }
  llvm::Triple triple(arch + "-unknown-linux-gnu");
  bool native = triple.getArch() == host.getArch() && (spec.cpu.empty() || spec.cpu == "native");
  std::string cpu = spec.cpu, features = spec.features;
  if (native) {
    cpu = llvm::sys::getHostCPUName().str();
    llvm::StringMap<bool> hostFeatures = llvm::sys::getHostCPUFeatures();
    std::string f;
    for (auto &kv : hostFeatures)
      f += (f.empty() ? "" : ",") + std::string(kv.second ? "+" : "-") + kv.getKey().str();
    features = features.empty() ? f : f + "," + features;
  } else if (cpu.empty()) {
    cpu = arch == "x86_64" ? "x86-64-v2" : "generic";
  }
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return failure();
  std::unique_ptr<llvm::MCSubtargetInfo> sti(target->createMCSubtargetInfo(triple, "", ""));
  if (!sti || !sti->isCPUStringValid(cpu)) {
    error = "unknown CPU '" + cpu + "' for " + arch;
    return failure();
  }
  llvm::TargetOptions options;
  llvm::CodeGenOptLevel level = spec.optLevel <= 0   ? llvm::CodeGenOptLevel::None
                                : spec.optLevel == 1 ? llvm::CodeGenOptLevel::Less
                                : spec.optLevel == 2 ? llvm::CodeGenOptLevel::Default
                                                     : llvm::CodeGenOptLevel::Aggressive;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, features, options, llvm::Reloc::PIC_, llvm::CodeModel::Small, level));
  if (!tm) {
    error = "cannot create a target machine for " + triple.str();
    return failure();
  }
  return tm;
}

void registerCodegenDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, bufferization::BufferizationDialect, cf::ControlFlowDialect,
                  func::FuncDialect, linalg::LinalgDialect, LLVM::LLVMDialect, math::MathDialect,
                  memref::MemRefDialect, scf::SCFDialect, tensor::TensorDialect, affine::AffineDialect,
                  vector::VectorDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  vector::registerBufferizableOpInterfaceExternalModels(registry); // transfers on tensors (winograd_conv)
  linalg::registerTilingInterfaceExternalModels(registry);
  arith::registerValueBoundsOpInterfaceExternalModels(registry);
  tensor::registerValueBoundsOpInterfaceExternalModels(registry);
  affine::registerValueBoundsOpInterfaceExternalModels(registry);
  scf::registerValueBoundsOpInterfaceExternalModels(registry);
  linalg::registerValueBoundsOpInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  // The NVPTX target (lib/Codegen/GPU): kernels to NVVM and PTX, the host's
  // launches to runtime calls.
  registry.insert<gpu::GPUDialect, NVVM::NVVMDialect>();
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerGPUDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
  NVVM::registerConvertGpuToNVVMInterface(registry);
  registerConvertNVVMToLLVMInterface(registry);
  gpu::registerConvertGpuToLLVMInterface(registry);
  arith::registerConvertArithToLLVMInterface(registry);
  cf::registerConvertControlFlowToLLVMInterface(registry);
  registerConvertFuncToLLVMInterface(registry);
  registerConvertMemRefToLLVMInterface(registry);
  registerConvertMathToLLVMInterface(registry);
  ub::registerConvertUBToLLVMInterface(registry);
}

//===-- weights ----------------------------------------------------------===//

std::vector<char> takeWeights(ModuleOp module) {
  std::vector<char> blob;
  auto size = module->getAttrOfType<IntegerAttr>("tern.weights_size");
  if (!size)
    return blob;
  blob.resize(size.getInt());
  SmallVector<memref::GlobalOp> done;
  for (auto global : module.getOps<memref::GlobalOp>()) {
    auto offset = global->getAttrOfType<IntegerAttr>("tern.weight_offset");
    if (!offset)
      continue;
    char *dst = blob.data() + offset.getInt();
    size_t room = blob.size() - offset.getInt();
    if (auto init = dyn_cast<DenseResourceElementsAttr>(*global.getInitialValue())) {
      if (AsmResourceBlob *data = init.getRawHandle().getBlob()) {
        ArrayRef<char> bytes = data->getData();
        std::memcpy(dst, bytes.data(), std::min<size_t>(bytes.size(), room));
      }
    } else if (auto dense = dyn_cast<DenseElementsAttr>(*global.getInitialValue())) {
      // A small constant (tern-externalize-weights all-constants): element
      // by element when splat or i1 (stored a byte each), else its raw data.
      Type e = dense.getElementType();
      size_t esize = e.isIndex() ? 8 : (e.getIntOrFloatBitWidth() + 7) / 8;
      if (!dense.isSplat() && !e.isInteger(1)) {
        ArrayRef<char> raw = dense.getRawData();
        std::memcpy(dst, raw.data(), std::min<size_t>(raw.size(), room));
      } else if (isa<FloatType>(e)) {
        size_t i = 0;
        for (const APFloat &v : dense.getValues<APFloat>()) {
          APInt bits = v.bitcastToAPInt();
          if ((i + 1) * esize <= room)
            std::memcpy(dst + i * esize, bits.getRawData(), esize);
          ++i;
        }
      } else {
        size_t i = 0;
        for (const APInt &v : dense.getValues<APInt>()) {
          APInt bits = e.isInteger(1) ? v.zext(8) : v;
          if ((i + 1) * esize <= room)
            std::memcpy(dst + i * esize, bits.getRawData(), esize);
          ++i;
        }
      }
    }
    done.push_back(global);
  }
  for (auto g : done)
    g.erase();
  return blob;
}

//===-- LLVM IR ----------------------------------------------------------===//

/// Each call of an outlined loop (`__tern_task_N(lo, hi, args...)`, from
/// tern-outline-parallel-loops) becomes the runtime's parallel_for over a
/// trampoline that unpacks `args` from a context on main's stack.
static void lowerTaskCalls(llvm::Module &m, llvm::Function *main) {
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *i64 = llvm::Type::getInt64Ty(ctx), *voidTy = llvm::Type::getVoidTy(ctx);
  llvm::PointerType *ptr = llvm::PointerType::getUnqual(ctx);
  // The hooks are the aligned pointer of @main's last memref (5 parameters).
  llvm::Argument *hooks = main->getArg(main->arg_size() - 4);
  SmallVector<llvm::CallInst *> calls;
  for (llvm::BasicBlock &bb : *main)
    for (llvm::Instruction &inst : bb)
      if (auto *call = dyn_cast<llvm::CallInst>(&inst))
        if (llvm::Function *f = call->getCalledFunction(); f && f->getName().starts_with("__tern_task_"))
          calls.push_back(call);
  auto *taskType = llvm::FunctionType::get(voidTy, {ptr, i64, i64}, false);
  auto *parallelForType = llvm::FunctionType::get(voidTy, {ptr, ptr, ptr, i64, i64}, false);
  for (llvm::CallInst *call : calls) {
    llvm::Function *task = call->getCalledFunction();
    SmallVector<llvm::Type *> fields;
    for (unsigned i = 2; i < call->arg_size(); ++i)
      fields.push_back(call->getArgOperand(i)->getType());
    auto *ctxType = llvm::StructType::get(ctx, fields);
    auto *tramp = llvm::Function::Create(taskType, llvm::GlobalValue::InternalLinkage, task->getName() + ".tramp", m);
    {
      llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", tramp));
      SmallVector<llvm::Value *> args{tramp->getArg(1), tramp->getArg(2)};
      for (unsigned i = 0; i < fields.size(); ++i)
        args.push_back(b.CreateLoad(fields[i], b.CreateStructGEP(ctxType, tramp->getArg(0), i)));
      b.CreateCall(task, args);
      b.CreateRetVoid();
    }
    llvm::IRBuilder<> entry(&main->getEntryBlock(), main->getEntryBlock().begin());
    llvm::AllocaInst *slot = entry.CreateAlloca(ctxType);
    llvm::IRBuilder<> b(call);
    for (unsigned i = 0; i < fields.size(); ++i)
      b.CreateStore(call->getArgOperand(i + 2), b.CreateStructGEP(ctxType, slot, i));
    llvm::Value *parallelFor = b.CreateLoad(ptr, hooks);
    llvm::Value *pool = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), hooks, 8));
    b.CreateCall(parallelForType, parallelFor, {pool, tramp, slot, call->getArgOperand(0), call->getArgOperand(1)});
    call->eraseFromParent();
  }
}

/// Each call of `__tern_fail(check, got, want)` (a run-time check that
/// failed, from tern-to-linalg) becomes a call of the runtime's check_failed hook
/// with this run's state. Only @main calls it.
static bool lowerFailCalls(llvm::Module &m, llvm::Function *main, std::string &error) {
  llvm::Function *decl = m.getFunction("__tern_fail");
  if (!decl)
    return true;
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *i64 = llvm::Type::getInt64Ty(ctx);
  llvm::PointerType *ptr = llvm::PointerType::getUnqual(ctx);
  llvm::Argument *hooks = main->getArg(main->arg_size() - 4);
  auto *failType = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, i64, i64, i64}, false);
  SmallVector<llvm::CallInst *> calls;
  for (llvm::User *user : decl->users()) {
    auto *call = dyn_cast<llvm::CallInst>(user);
    if (!call || call->getFunction() != main) {
      error = "a run-time check outside the model's entry function";
      return false;
    }
    calls.push_back(call);
  }
  for (llvm::CallInst *call : calls) {
    llvm::IRBuilder<> b(call);
    // tern_abi_hooks: parallel_for, pool, gpu, gpu_state, check_failed, check_state.
    llvm::Value *fail = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), hooks, 32));
    llvm::Value *state = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), hooks, 40));
    b.CreateCall(failType, fail, {state, call->getArgOperand(0), call->getArgOperand(1), call->getArgOperand(2)});
    call->eraseFromParent();
  }
  decl->eraseFromParent();
  return true;
}

ArenaPlan ArenaPlan::of(ModuleOp module) {
  ArenaPlan plan;
  auto get = [&](StringRef name, int64_t &to) {
    if (auto a = module->getAttrOfType<IntegerAttr>(name))
      to = a.getInt();
  };
  get("tern.arena_size", plan.bytes);
  get("tern.arena_scaled_size", plan.scaledBytes);
  if (auto by = module->getAttrOfType<DenseI64ArrayAttr>("tern.arena_scaled_by"))
    for (int64_t i = 0; i + 1 < by.size(); i += 2)
      plan.scaledBy.push_back({by[i], by[i + 1]});
  return plan;
}

std::unique_ptr<llvm::Module> translateModel(ModuleOp module, llvm::LLVMContext &ctx, llvm::TargetMachine &tm,
                                             const ModelInterface &iface, const std::vector<char> &weights,
                                             const ArenaPlan &arena, const LibraryOptions &options) {
  std::unique_ptr<llvm::Module> m = translateModuleToLLVMIR(module, ctx, options.modelName);
  if (!m)
    return nullptr;
  m->setTargetTriple(tm.getTargetTriple());
  m->setDataLayout(tm.createDataLayout());
  llvm::Function *main = m->getFunction("main");
  if (!main)
    return nullptr;

  lowerTaskCalls(*m, main);
  if (std::string error; !lowerFailCalls(*m, main, error)) {
    module.emitError(error);
    return nullptr;
  }
  if (!options.gpuArch.empty()) {
    std::string error;
    if (!lowerGPURuntimeCalls(*m, main, error)) {
      module.emitError(error);
      return nullptr;
    }
  }
  llvm::Type *i64 = llvm::Type::getInt64Ty(ctx);
  llvm::PointerType *ptr = llvm::PointerType::getUnqual(ctx);

  // void tern_entry(int64_t *args, int64_t *results): unpacks the slots into
  // @main's expanded memref parameters and stores its results.
  auto *entryType = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, ptr}, false);
  auto *entry = llvm::Function::Create(entryType, llvm::GlobalValue::InternalLinkage, "tern_entry", *m);
  {
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", entry));
    SmallVector<llvm::Value *> args;
    for (unsigned i = 0; i < main->arg_size(); ++i) {
      llvm::Value *slot = b.CreateConstInBoundsGEP1_64(i64, entry->getArg(0), i);
      args.push_back(b.CreateLoad(main->getFunctionType()->getParamType(i), slot));
    }
    llvm::Value *r = b.CreateCall(main, args);
    if (!r->getType()->isVoidTy())
      b.CreateStore(r, entry->getArg(1));
    b.CreateRetVoid();
  }

  // Everything but the descriptor is internal to the library.
  for (llvm::Function &f : *m)
    if (!f.isDeclaration())
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
  for (llvm::GlobalVariable &g : m->globals())
    if (!g.isDeclaration())
      g.setLinkage(llvm::GlobalValue::InternalLinkage);

  auto cstr = [&](StringRef s) -> llvm::Constant * {
    auto *init = llvm::ConstantDataArray::getString(ctx, s);
    auto *g = new llvm::GlobalVariable(*m, init->getType(), true, llvm::GlobalValue::PrivateLinkage, init, ".str");
    g->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    return g;
  };
  auto i64c = [&](int64_t v) { return llvm::ConstantInt::get(i64, v); };
  auto *tensorType = llvm::StructType::get(ctx, {ptr, i64, i64, ptr, ptr});
  auto tensors = [&](const std::vector<ModelInterface::Tensor> &list, StringRef what) -> llvm::Constant * {
    std::vector<llvm::Constant *> elems;
    for (const auto &t : list) {
      std::vector<llvm::Constant *> dims;
      for (int64_t d : t.dims)
        dims.push_back(i64c(d));
      auto *dimsInit = llvm::ConstantArray::get(llvm::ArrayType::get(i64, dims.size()), dims);
      auto *dimsG = new llvm::GlobalVariable(*m, dimsInit->getType(), true, llvm::GlobalValue::PrivateLinkage,
                                             dimsInit, "tern.dims");
      llvm::Constant *names = llvm::ConstantPointerNull::get(ptr);
      if (!t.dimNames.empty() && t.dimNames.size() == t.dims.size()) {
        std::vector<llvm::Constant *> ns;
        for (const auto &n : t.dimNames)
          ns.push_back(cstr(n));
        auto *init = llvm::ConstantArray::get(llvm::ArrayType::get(ptr, ns.size()), ns);
        names = new llvm::GlobalVariable(*m, init->getType(), true, llvm::GlobalValue::PrivateLinkage, init,
                                         "tern.dim_names");
      }
      elems.push_back(llvm::ConstantStruct::get(
          tensorType, {cstr(t.name), i64c(t.onnxType), i64c(t.dims.size()), dimsG, names}));
    }
    auto *init = llvm::ConstantArray::get(llvm::ArrayType::get(tensorType, elems.size()), elems);
    return new llvm::GlobalVariable(*m, init->getType(), true, llvm::GlobalValue::PrivateLinkage, init, what);
  };

  llvm::Constant *weightsPtr = llvm::ConstantPointerNull::get(ptr);
  llvm::Constant *weightsFile = llvm::ConstantPointerNull::get(ptr);
  if (!options.weightsFile.empty()) {
    weightsFile = cstr(options.weightsFile);
  } else if (!weights.empty()) {
    auto *init = llvm::ConstantDataArray::getRaw(StringRef(weights.data(), weights.size()), weights.size(),
                                                 llvm::Type::getInt8Ty(ctx));
    auto *g = new llvm::GlobalVariable(*m, init->getType(), true, llvm::GlobalValue::PrivateLinkage, init,
                                       "tern.weights");
    g->setAlignment(llvm::Align(64));
    weightsPtr = g;
  }
  std::string targetDesc = tm.getTargetTriple().str() + " " + tm.getTargetCPU().str();
  if (!options.gpuArch.empty())
    targetDesc += " + nvptx64-nvidia-cuda " + options.gpuArch;
  llvm::Constant *deviceArch =
      options.gpuArch.empty() ? llvm::ConstantPointerNull::get(ptr) : cstr(options.gpuArch);
  auto *modelType =
      llvm::StructType::get(ctx, {i64, ptr, i64, i64, ptr, ptr, ptr, i64, ptr, i64, ptr, ptr, i64, ptr, i64, i64, i64,
                                  i64, i64, i64, ptr});
  // What each run-time check tests (tern-to-linalg's `tern.checks`).
  std::vector<llvm::Constant *> checks;
  if (auto list = module->getAttrOfType<ArrayAttr>("tern.checks"))
    for (Attribute a : list)
      checks.push_back(cstr(cast<StringAttr>(a).getValue()));
  llvm::Constant *checkTable = llvm::ConstantPointerNull::get(ptr);
  if (!checks.empty()) {
    auto *init = llvm::ConstantArray::get(llvm::ArrayType::get(ptr, checks.size()), checks);
    checkTable = new llvm::GlobalVariable(*m, init->getType(), true, llvm::GlobalValue::PrivateLinkage, init,
                                          "tern.checks");
  }
  auto scaledBy = [&](size_t k, bool dim) {
    return i64c(k < arena.scaledBy.size() ? (dim ? arena.scaledBy[k].second : arena.scaledBy[k].first) : -1);
  };
  auto *desc = llvm::ConstantStruct::get(
      modelType, {i64c(TERN_ABI_VERSION), cstr(options.modelName), i64c(iface.inputs.size()), i64c(iface.outputs.size()),
                  tensors(iface.inputs, "tern.inputs"), tensors(iface.outputs, "tern.outputs"), weightsPtr,
                  i64c(weights.size()), weightsFile, i64c(arena.bytes), entry, cstr(targetDesc),
                  i64c(options.gpuArch.empty() ? TERN_DEVICE_CPU : TERN_DEVICE_CUDA), deviceArch,
                  i64c(arena.scaledBytes), scaledBy(0, false), scaledBy(0, true), scaledBy(1, false),
                  scaledBy(1, true), i64c(checks.size()), checkTable});
  auto *g = new llvm::GlobalVariable(*m, modelType, true, llvm::GlobalValue::ExternalLinkage, desc, options.symbol);
  g->setVisibility(llvm::GlobalValue::DefaultVisibility);
  return m;
}

/// Lets LLVM reassociate and contract floating-point adds and multiplies:
/// reductions (dot products, sums along a row) then vectorize and multiply-
/// adds become FMAs, as optimized runtimes' kernels do. Division, comparisons
/// and math functions keep their exact semantics.
static void relaxFloatingPoint(llvm::Module &module) {
  for (llvm::Function &f : module)
    for (llvm::BasicBlock &bb : f)
      for (llvm::Instruction &inst : bb)
        if (inst.getOpcode() == llvm::Instruction::FAdd || inst.getOpcode() == llvm::Instruction::FSub ||
            inst.getOpcode() == llvm::Instruction::FMul) {
          inst.setHasAllowReassoc(true);
          inst.setHasAllowContract(true);
        }
}

void optimizeModule(llvm::Module &module, llvm::TargetMachine &tm, int level) {
  if (level >= 2)
    relaxFloatingPoint(module);
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = level >= 2;
  tuning.SLPVectorization = level >= 2;
  llvm::PassBuilder pb(&tm, tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel opt = level <= 0   ? llvm::OptimizationLevel::O0
                                : level == 1 ? llvm::OptimizationLevel::O1
                                : level == 2 ? llvm::OptimizationLevel::O2
                                             : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager mpm =
      level <= 0 ? pb.buildO0DefaultPipeline(opt) : pb.buildPerModuleDefaultPipeline(opt);
  mpm.run(module, mam);
}

bool emitMachineCode(llvm::Module &module, llvm::TargetMachine &tm, bool assembly, llvm::raw_pwrite_stream &os,
                     std::string &error) {
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr,
                             assembly ? llvm::CodeGenFileType::AssemblyFile : llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit this file type";
    return false;
  }
  pm.run(module);
  return true;
}

static bool runLld(ArrayRef<const char *> args, std::string &error) {
  std::string log;
  llvm::raw_string_ostream os(log);
  lld::Result r = lld::lldMain(args, os, os, {{lld::Gnu, &lld::elf::link}});
  if (r.retCode != 0) {
    error = "linking failed: " + log;
    return false;
  }
  return true;
}

bool linkSharedLibrary(StringRef object, StringRef output, llvm::TargetMachine &tm, std::string &error) {
  std::string out = output.str(), obj = object.str();
  std::string soname = llvm::sys::path::filename(output).str();
  const char *emulation = tm.getTargetTriple().getArch() == llvm::Triple::aarch64 ? "aarch64linux" : "elf_x86_64";

  // The model calls libm (expf, erff...): record libm.so.6 as a dependency
  // by linking against an empty stub of that name, so the library loads
  // wherever libm does, for any target, without the target's libm at hand.
  SmallString<128> dir;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("ternc-link", dir)) {
    error = "cannot create a temporary directory: " + ec.message();
    return false;
  }
  llvm::scope_exit cleanup([&] { llvm::sys::fs::remove_directories(dir); });
  std::string emptyObj = (dir + "/empty.o").str(), stub = (dir + "/libm.so.6").str();
  {
    llvm::LLVMContext ctx;
    llvm::Module empty("empty", ctx);
    empty.setTargetTriple(tm.getTargetTriple());
    empty.setDataLayout(tm.createDataLayout());
    std::error_code ec;
    llvm::raw_fd_ostream os(emptyObj, ec);
    if (ec || !emitMachineCode(empty, tm, false, os, error)) {
      error = error.empty() ? "cannot write " + emptyObj : error;
      return false;
    }
  }
  if (!runLld({"ld.lld", "-shared", "-m", emulation, "-soname", "libm.so.6", "-o", stub.c_str(), emptyObj.c_str()},
              error))
    return false;
  return runLld({"ld.lld", "-shared", "-o", out.c_str(), obj.c_str(), "-soname", soname.c_str(), "--hash-style=gnu",
                 "-z", "noexecstack", "-z", "relro", "-z", "now", "--build-id", "-O1", "-m", emulation,
                 "--no-as-needed", stub.c_str()},
                error);
}

std::string objectHeader(const std::string &symbol, const std::string &guard, const ModelInterface &iface) {
  std::string h;
  llvm::raw_string_ostream os(h);
  os << "/* Generated by ternc: the descriptor of a compiled model, for static linking. */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n#include <tern/tern.h>\n\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  os << "/* Inputs:";
  for (const auto &t : iface.inputs) {
    os << " " << t.name << "[";
    for (size_t i = 0; i < t.dims.size(); ++i)
      os << (i ? "," : "") << (t.dims[i] < 0 ? std::string("?") : std::to_string(t.dims[i]));
    os << "]";
  }
  os << "\n   Outputs:";
  for (const auto &t : iface.outputs)
    os << " " << t.name;
  os << " */\nextern const struct tern_abi_model " << symbol << ";\n\n"
     << "/* Opens the model linked into this program; `weights_dir` is where its\n"
     << "   .weights file lives when the weights are not embedded (NULL: none). */\n"
     << "static inline tern_status " << symbol << "_open(const char *weights_dir, const tern_options *options,\n"
     << "                                          tern_model **model) {\n"
     << "  return tern_model_open_linked(&" << symbol << ", weights_dir, options, model);\n}\n\n"
     << "#ifdef __cplusplus\n}\n#endif\n\n#endif\n";
  return h;
}

} // namespace tern
