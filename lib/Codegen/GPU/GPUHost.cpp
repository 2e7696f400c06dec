//===- GPUHost.cpp - a GPU model's host code onto the runtime's CUDA layer ===//
//
// MLIR lowers @main's gpu.launch_func ops and their gpu.binary kernels to
// calls of its GPU runtime API (mgpuModuleLoad at library load from a
// global constructor, then per launch mgpuModuleGetFunction,
// mgpuStreamCreate, mgpuLaunchKernel, mgpuStreamSynchronize,
// mgpuStreamDestroy), and buffers to malloc/free. A tern library links no
// such API and must not touch the GPU when it is loaded, only when run, and
// then through the runtime, which owns the CUDA context (tern_abi.h's
// tern_abi_gpu, reached through @main's hooks argument). Here, in LLVM IR:
//   - the constructors and destructors loading and unloading the kernels'
//     modules go; each read of a module handle becomes gpu->module(state,
//     image), which loads an image once and caches it;
//   - function lookups and launches call the layer's; stream creation,
//     synchronization and destruction go (the runtime launches in order on
//     one stream and synchronizes when it copies the outputs back);
//   - malloc and free in @main become device allocations.
//
//===----------------------------------------------------------------------===//

#include "lib/Codegen/GPU/GPUHost.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Module.h"

namespace tern {

namespace {

/// Slots of tern_abi_gpu and tern_abi_hooks (8 bytes each).
enum GpuSlot { Module = 0, Function, Launch, Alloc, Free };
constexpr unsigned kHooksGpu = 2, kHooksGpuState = 3;

llvm::Function *calledFunction(llvm::Instruction &inst) {
  auto *call = llvm::dyn_cast<llvm::CallInst>(&inst);
  return call ? call->getCalledFunction() : nullptr;
}

/// The kernel images the global constructors load: module handle global ->
/// image global. Erases the constructors, destructors and their functions.
bool takeModuleLoads(llvm::Module &m, llvm::DenseMap<llvm::GlobalVariable *, llvm::Constant *> &images,
                     std::string &error) {
  llvm::SmallVector<llvm::Function *> dead;
  for (const char *name : {"llvm.global_ctors", "llvm.global_dtors"}) {
    llvm::GlobalVariable *list = m.getGlobalVariable(name);
    if (!list)
      continue;
    auto *entries = llvm::dyn_cast<llvm::ConstantArray>(list->getInitializer());
    for (unsigned i = 0; entries && i < entries->getNumOperands(); ++i) {
      auto *entry = llvm::cast<llvm::ConstantStruct>(entries->getOperand(i));
      if (auto *f = llvm::dyn_cast<llvm::Function>(entry->getOperand(1)))
        dead.push_back(f);
    }
    list->eraseFromParent();
  }
  for (llvm::Function *f : dead) {
    for (llvm::BasicBlock &bb : *f)
      for (llvm::Instruction &inst : bb) {
        llvm::Function *callee = calledFunction(inst);
        if (!callee)
          continue;
        llvm::StringRef name = callee->getName();
        if (name == "mgpuModuleUnload")
          continue;
        if (name != "mgpuModuleLoad" && name != "mgpuModuleLoadJIT") {
          error = ("unexpected call of " + name + " in the GPU module loader " + f->getName()).str();
          return false;
        }
        // The handle is stored into the module global right after.
        auto *store = llvm::dyn_cast_or_null<llvm::StoreInst>(inst.getNextNode());
        auto *handle = store ? llvm::dyn_cast<llvm::GlobalVariable>(store->getPointerOperand()) : nullptr;
        auto *image = llvm::dyn_cast<llvm::Constant>(llvm::cast<llvm::CallInst>(inst).getArgOperand(0));
        if (!handle || !image) {
          error = ("cannot find the module handle loaded by " + f->getName()).str();
          return false;
        }
        images[handle] = image;
      }
  }
  for (llvm::Function *f : dead)
    f->eraseFromParent();
  return true;
}

} // namespace

bool lowerGPURuntimeCalls(llvm::Module &m, llvm::Function *main, std::string &error) {
  llvm::DenseMap<llvm::GlobalVariable *, llvm::Constant *> images;
  if (!takeModuleLoads(m, images, error))
    return false;

  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *i64 = llvm::Type::getInt64Ty(ctx), *i32 = llvm::Type::getInt32Ty(ctx);
  llvm::Type *voidTy = llvm::Type::getVoidTy(ctx);
  llvm::PointerType *ptr = llvm::PointerType::getUnqual(ctx);
  // The hooks are the aligned pointer of @main's last memref (5 parameters).
  llvm::Argument *hooks = main->getArg(main->arg_size() - 4);
  llvm::IRBuilder<> entry(&main->getEntryBlock(), main->getEntryBlock().begin());
  llvm::Value *table = entry.CreateLoad(ptr, entry.CreateConstInBoundsGEP1_64(i64, hooks, kHooksGpu), "gpu");
  llvm::Value *state =
      entry.CreateLoad(ptr, entry.CreateConstInBoundsGEP1_64(i64, hooks, kHooksGpuState), "gpu.state");

  auto callSlot = [&](llvm::IRBuilder<> &b, GpuSlot slot, llvm::Type *result, llvm::ArrayRef<llvm::Type *> params,
                      llvm::ArrayRef<llvm::Value *> args) {
    llvm::SmallVector<llvm::Type *> types{ptr};
    types.append(params.begin(), params.end());
    llvm::SmallVector<llvm::Value *> values{state};
    values.append(args.begin(), args.end());
    llvm::Value *fn = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, table, slot));
    return b.CreateCall(llvm::FunctionType::get(result, types, false), fn, values);
  };

  llvm::SmallVector<llvm::Instruction *> work;
  for (llvm::BasicBlock &bb : *main)
    for (llvm::Instruction &inst : bb)
      if (calledFunction(inst) || llvm::isa<llvm::LoadInst>(inst))
        work.push_back(&inst);
  for (llvm::Instruction *inst : work) {
    llvm::IRBuilder<> b(inst);
    if (auto *load = llvm::dyn_cast<llvm::LoadInst>(inst)) {
      auto *handle = llvm::dyn_cast<llvm::GlobalVariable>(load->getPointerOperand());
      auto it = handle ? images.find(handle) : images.end();
      if (it == images.end())
        continue;
      load->replaceAllUsesWith(callSlot(b, Module, ptr, {ptr}, {it->second}));
      load->eraseFromParent();
      continue;
    }
    auto *call = llvm::cast<llvm::CallInst>(inst);
    llvm::StringRef name = call->getCalledFunction()->getName();
    llvm::Value *replacement = nullptr;
    if (name == "mgpuModuleGetFunction") {
      replacement = callSlot(b, Function, ptr, {ptr, ptr}, {call->getArgOperand(0), call->getArgOperand(1)});
    } else if (name == "mgpuStreamCreate") {
      replacement = llvm::ConstantPointerNull::get(ptr);
    } else if (name == "mgpuStreamSynchronize" || name == "mgpuStreamDestroy") {
    } else if (name == "mgpuLaunchKernel") {
      // (function, grid xyz, block xyz, shared bytes, stream, params, extra, count)
      llvm::SmallVector<llvm::Value *> args;
      for (unsigned i = 0; i < 8; ++i)
        args.push_back(call->getArgOperand(i));
      args.push_back(call->getArgOperand(9));
      callSlot(b, Launch, voidTy, {ptr, i64, i64, i64, i64, i64, i64, i32, ptr}, args);
    } else if (name == "malloc") {
      replacement = callSlot(b, Alloc, ptr, {i64}, {call->getArgOperand(0)});
    } else if (name == "free") {
      callSlot(b, Free, voidTy, {ptr}, {call->getArgOperand(0)});
    } else if (name.starts_with("mgpu") || name == "aligned_alloc") {
      error = ("the GPU host code calls " + name + ", which tern's runtime does not provide").str();
      return false;
    } else {
      continue;
    }
    if (replacement)
      call->replaceAllUsesWith(replacement);
    call->eraseFromParent();
  }

  // Nothing else may still use the module handles or the mgpu API.
  for (auto &[handle, image] : images) {
    if (!handle->use_empty()) {
      error = ("the kernel module " + handle->getName() + " is used outside @main").str();
      return false;
    }
    handle->eraseFromParent();
  }
  for (llvm::Function &f : llvm::make_early_inc_range(m))
    if (f.isDeclaration() && (f.getName().starts_with("mgpu") || f.getName() == "malloc" || f.getName() == "free")) {
      if (!f.use_empty()) {
        error = ("the GPU host code calls " + f.getName() + " outside @main").str();
        return false;
      }
      f.eraseFromParent();
    }
  return true;
}

} // namespace tern
