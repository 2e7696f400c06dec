//===- Passes.td - tern's graph passes -----------------------------------===//

#ifndef TERN_PASSES_TD
#define TERN_PASSES_TD

include "mlir/Pass/PassBase.td"

def TernInferShapesPass : Pass<"tern-infer-shapes", "mlir::func::FuncOp"> {
  let summary = "Re-infers tern result types and folds constant shape arithmetic";
  let description = [{
    Walks the function in order, re-runs each tern op's type inference and
    refines its result types where the new ones are more static (the
    function's return types follow), then folds ops whose operands became
    constants. Run it after pinning a function's argument types, or after a
    pass that made shapes more static.

    ```mlir
    func.func @f(%x: tensor<1x8xf32>) -> tensor<?x?xf32> {
      %0 = tern.relu %x : (tensor<1x8xf32>) -> tensor<?x?xf32>
      return %0 : tensor<?x?xf32>
    }
    // becomes
    func.func @f(%x: tensor<1x8xf32>) -> tensor<1x8xf32> { ... }
    ```
  }];
  let dependentDialects = ["::tern::TernDialect"];
}

def TernFoldConstantTransposesPass : Pass<"tern-fold-constant-transposes", "mlir::func::FuncOp"> {
  let summary = "Transposes constant weights at compile time";
  let description = [{
    A Transpose of a constant (GPT-2's tied embedding read transposed by the
    LM head) and the B operand of a Gemm with `trans_b` (the usual
    Linear export) become new constants holding the transposed data, so no
    run transposes weights and the matmul reads B along its contiguous dim.
    Large constants stay `dense_resource` blobs. Transposes of values computed
    at run time are left alone.

    ```mlir
    %w = tern.constant dense_resource<w> : tensor<128x64xf32>
    %y = tern.gemm %x, %w {trans_b = true} : (tensor<1x64xf32>, tensor<128x64xf32>) -> tensor<1x128xf32>
    // becomes
    %w = tern.constant dense_resource<w_transposed> : tensor<64x128xf32>
    %y = tern.gemm %x, %w : (tensor<1x64xf32>, tensor<64x128xf32>) -> tensor<1x128xf32>
    ```
  }];
  let dependentDialects = ["::tern::TernDialect"];
}

def TernToLinalgPass : Pass<"tern-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lowers the tern dialect to linalg, tensor, arith and math on tensors";
  let description = [{
    Every tern op becomes linalg/tensor ops on tensors (one file per op
    category in lib/Conversion/TernToLinalg). Unsigned integer tensors become
    signless (the lowerings read the original types for signedness), and the
    functions' signatures follow. An op with no lowering, or in a form the
    lowering does not handle, is an error that names the ONNX node.

    ```mlir
    %0 = tern.relu %x : (tensor<4xf32>) -> tensor<4xf32>
    // becomes
    %e = tensor.empty() : tensor<4xf32>
    %0 = linalg.generic {...} ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
      ^bb0(%in: f32, %out: f32):
        %r = arith.maximumf %in, %cst : f32
        linalg.yield %r : f32
    } -> tensor<4xf32>
    ```
  }];
  let options = [
    Option<"broadcastAtRunTime", "broadcast-at-run-time", "bool", /*default=*/"true",
           "Compare dynamic operand dims not proven equal to a broadcast's result at run time, "
           "stretching a dim of 1 into a copy (off: take them to be equal; the GPU target)">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect", "::mlir::bufferization::BufferizationDialect",
                           "::mlir::vector::VectorDialect"];
}

def TernExternalizeWeightsPass : Pass<"tern-externalize-weights", "mlir::ModuleOp"> {
  let summary = "Moves the large constants of @main into one weights blob read through an argument";
  let description = [{
    After bufferization, every constant memref.global whose value is a
    dense_resource blob (the importer's large initializers) gets a 64-byte
    aligned offset in one weights blob (`tern.weight_offset` on the global,
    `tern.weights_size` on the module), and its uses in `@main` read
    `memref.view %weights[offset]` of a new last argument instead. The
    compiler driver writes the blob into the library or beside it; the runtime
    passes its address (embedded or memory-mapped) at every call.

    With `all-constants` (the GPU pipeline, where the model's code cannot
    read the host's memory) every constant global goes into the blob, small
    dense constants included.
  }];
  let options = [
    Option<"allConstants", "all-constants", "bool", /*default=*/"false",
           "Also move small (non-resource) constant globals into the blob">
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect"];
}

def TernMapToGPUPass : Pass<"tern-map-to-gpu", "mlir::ModuleOp"> {
  let summary = "Runs @main's loops on the GPU: one gpu.launch per top-level loop nest";
  let description = [{
    For the NVPTX target, after linalg has become loops. Appends the
    `__runtime` argument (the runtime's hooks, which on a GPU model carry
    the CUDA layer) to `@main`, whose buffers are then all device memory.
    Each top-level scf.parallel becomes a gpu.launch of one thread per
    iteration: the iteration space is linearized (the last dim fastest, so
    neighbouring threads touch neighbouring elements), split in blocks of
    `block-size` threads, and each thread recovers its indices and runs the
    loop body (its inner sequential loops, a reduction's, included). Runs
    of other top-level ops that read or write memory (loop nests with no
    parallel dim, a 0-d tensor's loads, arithmetic and stores) run in one
    one-thread launch each. Allocations, deallocations, the return, views
    and index arithmetic stay on the host (and end a run when they allocate
    or free). Fails, naming the op, when a value computed from tensor data
    is needed on the host (a shape read from a tensor's contents).

    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c100) step (%c1, %c1) { BODY }
    // becomes
    gpu.launch blocks(%bx, ...) in (%g = %c2, ...) threads(%tx, ...) in (%t = %c256, ...) {
      %id = bx * 256 + tx;  if %id < 400 { %i = %id / 100; %j = %id % 100; BODY }
    }
    ```
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256", "Threads per block">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def TernPlanMemoryPass : Pass<"tern-plan-memory", "mlir::ModuleOp"> {
  let summary = "Places @main's static temporary buffers in one arena by liveness";
  let description = [{
    Every memref.alloc of static shape in `@main` that does not reach a
    return becomes a `memref.view` of an arena argument (appended after the
    weights) at an offset chosen so that buffers live at the same time never
    overlap (greedy, largest first, 64-byte aligned). Dynamic-shaped
    temporaries whose size is a multiple of one or two inputs' dims (a
    batch known at run time; a transformer's batch x sequence) are placed
    the same way after the static ones, by their bytes per unit of that
    product, at offsets the run multiplies by it (recorded as
    `tern.arena_scaled_size` and `tern.arena_scaled_by`, the (input, dim)
    pairs: the runtime's arena holds the static bytes plus the scaled ones
    times the product of those dims); other dynamic-shaped
    temporaries are freed after their last use. Returned buffers are made
    fresh allocations the caller owns (copied when the result is an input, a
    constant, a view of the arena or returned twice). The arena size is
    recorded as `tern.arena_size` on the module.

    Allocations inside a top-level loop (the per-tile scratch of an
    attention, inside its parallel loop) are per iteration and per thread:
    they become memref.alloca at the top of the loop's body (static sizes up
    to 256 KiB; others are an error); tern-outline-parallel-loops then
    allocates them once per task.
  }];
  let options = [
    Option<"scaleWithInputs", "scale-with-inputs", "bool", /*default=*/"true",
           "Place buffers sized by an input's dim in the arena too (a runtime that sizes it per run)">
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect"];
}

def TernLowerCopiesPass : Pass<"tern-lower-copies", "mlir::ModuleOp"> {
  let summary = "Turns memref.copy into linalg.copy, so copies become loops, not runtime calls";
  let description = [{
    MLIR lowers a memref.copy between non-contiguous buffers to a call into
    its C runner library, which compiled models do not link. As linalg.copy
    it lowers to loops like any other linalg op.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def TernSplitMaskedStoresPass : Pass<"tern-split-masked-stores"> {
  let summary = "Stores the lanes a mask keeps as plain stores of the vector's pieces";
  let description = [{
    For targets without a cheap masked store: x86 without AVX-512, where
    vmaskmovps to memory is microcoded (about twelve plain stores' time on
    a Zen 3), and AArch64, which has none (LLVM branches per lane). A
    vector.maskedstore whose mask keeps a range of lanes [lo, hi)
    (vector.constant_mask, vector.create_mask, a constant, or the
    intersections and complements of these the kernels build) becomes
    vector.store of the pieces in the range: with lo and hi constant just
    those pieces (7 lanes of 8: 4 + 2 + 1), else a tree of scf.if that
    stores a half, quarter, ... whole once the range covers it and skips
    it once the range misses it. Other masks are left alone.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect"];
}

def TernOutlineParallelLoopsPass : Pass<"tern-outline-parallel-loops", "mlir::ModuleOp"> {
  let summary = "Outlines @main's large parallel loops into tasks the runtime's thread pool runs";
  let description = [{
    Appends the `__runtime` argument (the runtime's hooks) to `@main`. Each
    top-level scf.parallel of `@main` with a zero-based, constant-step dim and enough
    iterations becomes a private function `@__tern_task_N(%lo, %hi,
    captured...)` running the loop with one dim (the one with the most
    iterations) restricted to [lo, hi), and a `func.call` of it over the
    whole range. Code generation turns each such call into the runtime's
    parallel_for over a packed context; loops too small to pay for threads
    stay in place. Stack allocations inside loops (memref.alloca of static
    size) move to their function's entry block, allocated once per task
    rather than once per iteration.

    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%c512, %c64) step (%c1, %c1) { ... }
    // becomes
    func.call @__tern_task_0(%c0, %c512, %captured...) : (index, index, ...) -> ()
    ```
  }];
  let options = [
    Option<"minIterations", "min-iterations", "int64_t", /*default=*/"4096",
           "Outline loop nests with at least this many iterations, inner loops included (dynamic counts always)">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::func::FuncDialect", "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def TernLowerPrecisionPass : Pass<"tern-lower-precision", "mlir::func::FuncOp"> {
  let summary = "Runs float contractions on f16 or bf16 operands, accumulating in f32";
  let description = [{
    On linalg on tensors (ternc --target=nvptx --precision=fp16|bf16): every
    contraction (a linalg op with a reduction dim whose body multiplies and
    adds into its output: matmuls, convolutions, attention's products) with
    f32 operands reads them in `type`: constant weights are converted at
    compile time (half the bytes to store and read), other operands are
    truncated by an elementwise op (which tern-fuse-elementwise merges into
    their producer), and the body extends each operand to f32, so products
    and sums stay f32, as does the result. Reductions without a product
    (sums, maxima, normalization statistics) and integer contractions are
    left alone.
  }];
  let options = [
    Option<"type", "type", "std::string", /*default=*/"\"f16\"", "The operands' type: f16 or bf16">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def TernGPURowKernelsPass : Pass<"tern-gpu-row-kernels", "mlir::func::FuncOp"> {
  let summary = "Chains of row-wise ops (layer norms, softmax) become one gpu.launch, a warp per row";
  let description = [{
    On buffers, after bufferization and before the memory plan (GPU
    pipeline: each tensor is then an allocation of its own, so only true
    sharing of bytes limits it). A
    reduction over the last dim of a row that starts from a fill (a sum, a
    maximum: what tern-lower-reductions-to-loops would give a warp per
    output), with the linalg ops over the same rows around it (elementwise
    ops over the row, ops computing one value a row, further reductions),
    becomes one gpu.launch: a warp per row runs the chain's ops in order,
    each reduction's lanes combining by shuffles, values computed once a
    row kept in registers for the ops after. A layer norm (5 ops) and a
    softmax (4, plus a mask added before it) each become one kernel.

    Valid only where rows do not wait for each other: every operand's
    addresses are worked out as bytes of its root buffer, and an op joins
    the chain only if each access that may share bytes with a write of the
    chain is the same function of the loop indices as that write (each
    element then read by the lane that wrote it), and each write gives
    each loop point bytes of its own. Other ops in between (fills of later
    matmuls' outputs) move after the launch when they touch none of the
    later members' bytes; a reduction's starting fill becomes a constant.
    All-parallel ops that share no bytes with the chain - between its ops,
    or right after it (a bias copied into the next matmul's output, the
    transposing conversion of attention's values) - run in the same launch
    as side jobs, every thread taking every n-th point; a fill stays an op
    of its own when a matmul will start from its constant instead
    (tern-lower-reductions-to-loops), unless (`tensor-cores`) that matmul
    splits k among blocks. Then runs of adjacent all-parallel ops that
    share no bytes one writes (the query and key transposes after a split
    QKV matmul) become one launch of side jobs, but not an op that
    tern-lower-reductions-to-loops may run as the epilogue of the reduction
    before it. Dynamic shapes are left alone. With `lanes` 1 a
    thread runs a row without shuffles (the --emulate-gpu pipeline, on
    the host).
    See lib/Codegen/GPU/RowKernels.cpp.
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", /*default=*/"32",
           "Threads per row: 32 (a warp, combining by shuffles) or 1 (emulation: no shuffles)">,
    Option<"tensorCores", "tensor-cores", "bool", /*default=*/"false",
           "Matmuls of 16-bit floats will run on the tensor cores: the fills that those splitting k start from may join a launch">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::affine::AffineDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect"];
}

def TernLowerReductionsToLoopsPass : Pass<"tern-lower-reductions-to-loops", "mlir::func::FuncOp"> {
  let summary = "Lowers linalg reductions to loops that accumulate in a register, not in memory";
  let description = [{
    The GPU pipeline's lowering of buffer-semantics linalg ops with reduction
    dims (matmuls, convolutions, sums): an scf.parallel over the parallel
    dims whose body loads the output element once, runs the reduction dims
    as scf.for loops carrying the accumulator as an iteration argument, and
    stores it once. convert-linalg-to-parallel-loops would load and store
    the output in every reduction step (a GPU thread's matmul then moves
    three values through memory per multiply-add, and LLVM cannot keep the
    output in a register since it cannot prove the buffers apart). Ops with
    several outputs, or whose output depends on a reduction dim, are left
    to the upstream lowering.

    With `rows` > 1, each iteration of the parallel loop computes that many
    outputs along one parallel dim (of static extent divisible by `rows`)
    that the largest input does not index: a matmul's thread then loads
    each weight once for `rows` rows of activations, with `rows`
    accumulators.

    When the output holds a constant before the op (a fill, or a copy of a
    buffer last written by a fill: bufferization copies a zero fill that
    several contractions share), the accumulators start from that constant
    and the copy (and the fill, once unread) goes: two launches fewer per
    contraction on the GPU (GPT-2 124M: 382 launches a run to 284).

    An elementwise op right after, reading the output element by element
    (through a reshape at most, its dims in any order: a bias, GELU, a
    residual add, attention's heads transposed back), runs in the
    same nest on each result as it is produced, unless its output may
    overlap a buffer the op reads; the output itself is then stored only if
    something later reads it (GPT-2 124M: 284 launches to 223).

    With `tensor-cores`, a matmul of f16 or bf16 operands accumulating in f32
    (extf, mulf, addf; batch dims of static extent) becomes a gpu.launch of
    its own instead (lib/Codegen/GPU/TensorCoreMatmul.cpp): 64x64 output
    tiles per block of 4 warps, A and B staged in shared memory 32 deep,
    nvvm.mma.sync m16n8k16 accumulating in registers; the constant start
    and the elementwise epilogue as above. tern-map-to-gpu leaves it as it
    is.

    With `warp-reductions`, a reduction whose inputs are each indexed by
    every parallel dim (no input shared by outputs: a layer norm's mean, a
    softmax's maximum and sum) over 32 or more elements, combining by addf,
    maximumf, maxnumf, minimumf or minnumf into f32, becomes a gpu.launch
    of its own (lib/Codegen/GPU/WarpReduction.cpp): a warp per output, its
    lanes striding the reduction and combining by shuffles, lane 0 storing
    (the constant start and the epilogue as above).
  }];
  let options = [
    Option<"rows", "rows", "int64_t", /*default=*/"1",
           "Outputs per iteration along a dim the largest input does not use (1: one)">,
    Option<"tensorCores", "tensor-cores", "bool", /*default=*/"false",
           "Matmuls of 16-bit floats into f32 become gpu.launch ops of mma.sync kernels">,
    Option<"warpReductions", "warp-reductions", "bool", /*default=*/"false",
           "Reductions whose outputs read their own inputs become gpu.launch ops of a warp per output">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::affine::AffineDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect", "::mlir::NVVM::NVVMDialect", "::mlir::LLVM::LLVMDialect",
                           "::mlir::vector::VectorDialect"];
}

def TernMergeGPUModulesPass : Pass<"tern-merge-gpu-modules", "mlir::ModuleOp"> {
  let summary = "Puts every outlined kernel into one gpu.module";
  let description = [{
    gpu-kernel-outlining gives each kernel a gpu.module of its own, which
    becomes a binary of its own (an ELF image per kernel, a module load per
    kernel at run time). This moves every gpu.func into one module,
    `@tern_kernels`, each named after the module it came from, the ONNX
    node its location names and, when it runs the tensor cores, `_mma`
    (`main_kernel_12_h_0_mlp_c_fc_MatMul_mma`: what a profile such as the
    runtime's TERN_CUDA_PROFILE prints), and points the launches at them:
    one image per model.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def TernEmulateGPULaunchesPass : Pass<"tern-emulate-gpu-launches", "mlir::ModuleOp"> {
  let summary = "Runs @main's gpu.launch ops on the host CPU, as parallel loops (testing the GPU pipeline)";
  let description = [{
    A check of the GPU pipeline's own steps on a machine without a GPU
    (ternc --target=nvptx --emulate-gpu): each gpu.launch tern-map-to-gpu
    made becomes an scf.parallel over its blocks and threads running its
    body, and the `__runtime` argument it added to `@main` goes, so the
    CPU's lowering takes over. Valid because tern's launches neither
    synchronize their threads nor share memory.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect"];
}

def TernFuseElementwisePass : Pass<"tern-fuse-elementwise", "mlir::func::FuncOp"> {
  let summary = "Fuses elementwise linalg producers into all-parallel consumers";
  let description = [{
    Linalg's elementwise fusion, held back where it would recompute: a
    producer is fused only into a consumer without reduction loops (fused
    into a matmul, GELU's erf would run once per multiply-add instead of once
    per element) and only when the consumer is its only user.

    A tensor that several ops read, one of them a relayout (an all-parallel
    copy to another layout, its bits possibly flipped: an int8
    convolution's input moved to channels last), is written in that
    layout by its producer and read from there by the others, through a
    copy back (marked `tern.relayout`) that fuses into every reader as a
    view: the transposes on both sides cancel.

    With `through-views` (the GPU pipeline, where every op is a kernel
    launch): transposes become generics first, and reshapes between
    elementwise ops move past them (an all-parallel generic reading a
    collapse_shape runs on the expanded shape instead), so that a chain
    such as a layer norm or transpose, a reshape and the f32-to-f16
    conversion of --precision=fp16 is one op.
  }];
  let options = [
    Option<"throughViews", "through-views", "bool", /*default=*/"false",
           "Also fuse through transposes and reshapes (one kernel per chain on the GPU)">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::affine::AffineDialect",
                           "::mlir::tensor::TensorDialect"];
}

def TernUnshareInitsPass : Pass<"tern-unshare-inits", "mlir::func::FuncOp"> {
  let summary = "Gives every op written in place its own fill of an empty tensor";
  let description = [{
    A fill of a tensor.empty (linalg.fill, or a generic without inputs
    yielding an outside value) that several ops take as their destination
    (after CSE merged equal fills: matmuls of one shape starting from zero)
    is cloned, with its empty tensor, before each of them but one (each of
    them, when others read it too). Run just before bufferization: the
    shared fill would otherwise be copied into a buffer of each op's own,
    and the matmul kernels, which start their accumulators at a fill's
    constant, would read the copy instead.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect"];
}

def TernDecomposePadsPass : Pass<"tern-decompose-pads", "mlir::func::FuncOp"> {
  let summary = "Writes padded tensors as fills of the border and an insert of the interior";
  let description = [{
    Every tensor.pad with a constant padding value (a convolution's or
    pool's zero or -inf border) becomes a new tensor whose border slabs are
    filled (per padded dim, the slabs below and above the interior) and
    into whose interior the padded value is inserted. Run just before
    bufferization with empty-tensor elimination, the op producing the value
    then writes straight into the padded buffer's interior and only the
    border is filled: the copy and the fill of the whole buffer a pad
    bufferizes to go. Pads whose value depends on the index are decomposed
    as a fill of the whole tensor and an insert. (Run it after CSE: CSE
    would share the fills of equal shapes, and bufferization would copy the
    shared one.)
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def TernInterchangeForVectorizationPass : Pass<"tern-interchange-for-vectorization", "mlir::func::FuncOp"> {
  let summary = "Puts a contiguous parallel dim innermost in linalg ops that reduce";
  let description = [{
    Lowered to loops as they are, matmuls, convolutions and pools run their
    reduction innermost: a floating-point reduction LLVM cannot vectorize
    without reassociating. This pass moves the parallel dim that is the
    output's last (contiguous) dim, and that an input also reads along its
    last dim, to the innermost loop, with the reductions just outside it;
    the inner loop then becomes a vectorizable update of a row of the output.
    Named ops are generalized first. Ops without reductions, and reductions
    whose inputs do not run along that dim (softmax's row sums), are left.

    ```mlir
    linalg.matmul ins(%a, %b : ...) outs(%c : ...)      // loops m, n, k
    // becomes a linalg.generic with loops m, k, n
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def TernVectorizeContractionsPass : Pass<"tern-vectorize-contractions", "mlir::ModuleOp"> {
  let summary = "Turns f32, i32, 8-bit and block-dequantized matmuls on buffers into register-blocked vector kernels";
  let description = [{
    Matches linalg ops on f32 or i32 buffers that compute C += A * B (the
    body a multiply-add; i32 for quantized models' integer matmuls, their
    zero points subtracted, with integer multiply-adds instead of FMAs) where C is indexed by plain dims, n its last, run with
    unit stride; B reads n and A does not. C's other dims are rows when B
    does not read them (several are flattened: a convolution's output
    positions) and batch dims when it does; every reduction dim is read by
    both (a convolution's channels and window). A is read one element at a
    time through any affine map: a transposed A, or a convolution's window
    over its padded input, costs no copy. B is [.., k, n] with one
    reduction dim and unit stride along n, or a constant [n, k...] (packed).
    Each becomes:

    - an scf.parallel over the batch dims and panels of C of
      `vectors` x VL columns (VL = vector-bits / 32), which the thread pool
      splits;
    - in each panel, a kernel per `rows` rows that keeps rows x vectors
      accumulators in registers over the whole reduction (one loop per
      reduction dim): per step it loads the panel's row of B, broadcasts one
      element of A per row and issues the FMAs; C is written once;
    - masked loads and stores for the last, partial panel, and a one-row
      kernel for the rows left over.

    The accumulators start from C as it is, or from a constant when C was
    just filled with one (or copied from a buffer filled with one, as CSE
    leaves zero inits), or from a bias when C was just set to its broadcast
    (read along n as vectors, or one value per row); the op that set C
    goes.

    Epilogues: when the next linalg.generic after the contraction (only
    views and allocations between) is elementwise on C (read directly or
    through an expand_shape that leaves n last), made of arith/math ops, and
    reads its other inputs along n with unit stride or not along n at all
    (a bias per row, a broadcast), its body is computed on the accumulators
    in registers and its result stored instead: bias, activation and
    residual add cost no pass over memory. C itself is still stored when
    something else reads it.

    A constant B (a weight, also through a reshape) is packed at compile
    time into a new global [panels][k][panel columns], zero-padded, which
    the kernel streams through; the original global goes when nothing else
    reads it. A transposed constant B ([n, k...]: Gemm's transB, convolution
    filters [F, C, KH, KW]) is packed the same way, k flattened.

    Byte contractions (i32 C, out + ext(a) * ext(b) with i8 A and B, the
    8-bit matmuls of quantized models) need a constant B: with `vnni`, u8 A
    read along its one reduction dim with unit stride and s8 B, B is packed
    in groups of 4 bytes along k ([panels][k/4][columns x 4]) and each step
    is one vpdpbusd per vector (llvm.call_intrinsic), A's 4 bytes broadcast
    as an i32, the k % 4 tail read masked (with `usdot`, AArch64's usdot on
    128-bit vectors, the same instruction shape); with `pmaddwd` instead
    (x86 without VNNI) B is packed widened to i16 pairs along k and each
    step is one pmaddwd per vector, A's 2 bytes widened and broadcast as an
    i32, the products added to the accumulators; otherwise B is packed widened to
    i32 and each byte of A widened as read.

    Block-dequantized contractions (f32 C, out + a * (uitofp(q) * s + z),
    q [k, n] bytes, s and z [k / block, n]: MatMulNBits' weights) need all
    three constant; they are packed into panels, q two values per byte when
    all are below 16. Per block the kernel loads the block's s and z once;
    several rows share each k's dequantization (q * s + z), one row instead
    accumulates a * q and sum(a) and applies s and z at the block's end
    (two FMAs) over 4 interleaved chains of k; with fewer rows than `rows`,
    panels are twice as wide. Marked `tern.int8_activations` (MatMulNBits
    with accuracy_level 4), with 4-bit values and whole blocks (a multiple
    of 4 and of the vector length) along k, and with `vnni` or `usdot`: A
    is quantized to int8 per row and block into a buffer (in the arena, or
    allocated per run for a dynamic number of rows) before the kernel
    (d = max |a| / 127, the block's sum of a), q is
    packed as nibbles in groups of 4 along k, and the kernel runs 4 rows at
    a time (or fewer) on the dot products, u8 q x s8 A, applying s * d and
    z * sum(a) per block in two FMAs; s and z packed as f16 where they fit.

    2:4-sparse constant B (f32 with at most 2 non-zeros in every 4
    consecutive k of each column: tern-prune-weights' output or a model
    pruned before export), with `sparse` (x86 with vpermps at vector-bits),
    fewer rows than `rows` (decoding one token: bound by reading the
    weights), one reduction dim along which A runs with unit stride: B is
    packed as its non-zeros, two rows per group of 4 k, and their 2-bit
    positions (half the bytes of dense B, plus 1/16).
    Per group the kernel broadcasts A's 4 values to each 128-bit lane and
    picks each lane's two with vpermps (llvm.call_intrinsic) before the two
    FMAs; one row keeps the two slots' sums apart (two chains); the k % 4
    tail is read masked.

    Contractions on other element types, with C strided along n, with a
    run-time B strided along n or with several reduction dims, or whose A
    reads n, are left as they are.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "int64_t", /*default=*/"512", "Vector register width in bits">,
    Option<"rows", "rows", "int64_t", /*default=*/"8", "Rows of C per kernel">,
    Option<"vectors", "vectors", "int64_t", /*default=*/"2", "Vector registers across n per kernel row">,
    Option<"packWeights", "pack-weights", "bool", /*default=*/"true", "Pack constant B at compile time">,
    Option<"fuseEpilogues", "fuse-epilogues", "bool", /*default=*/"true",
           "Apply the elementwise op that follows to the accumulators before storing">,
    Option<"vnni", "vnni", "bool", /*default=*/"false",
           "The target has x86 VNNI (vpdpbusd) at vector-bits: u8 x s8 byte matmuls use it">,
    Option<"sparse", "sparse", "bool", /*default=*/"false",
           "The target has x86 vpermps at vector-bits (256 or 512): 2:4-sparse constant B uses the sparse kernel">,
    Option<"usdot", "usdot", "bool", /*default=*/"false",
           "The target has AArch64's usdot (FEAT_I8MM; vector-bits 128): u8 x s8 byte matmuls use it">,
    Option<"pmaddwd", "pmaddwd", "bool", /*default=*/"false",
           "The target has x86's pmaddwd at vector-bits: byte matmuls without dot products use i16 pairs">,
    Option<"sdot", "sdot", "bool", /*default=*/"false",
           "The target has AArch64's sdot but not usdot (FEAT_DotProd without FEAT_I8MM; vector-bits 128): "
           "u8 x s8 byte matmuls run on s8 x s8 dot products, A shifted by -128 and 128 times B's column sums "
           "added back">,
    Option<"copyPanels", "copy-panels", "bool", /*default=*/"true",
           "Copy each panel of a float B read in place (activations) into a stack buffer before its tiles of rows">
  ];
  let dependentDialects = ["::mlir::vector::VectorDialect", "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def TernApproximateMathPass : Pass<"tern-approximate-math"> {
  let summary = "Replaces libm calls for tanh, exp, erf and log by inline polynomials";
  let description = [{
    math.tanh, exp, expm1, erf, log, log1p and log2 become MLIR's polynomial
    approximations (arith ops only, a few ulp from the correctly rounded f32
    result), which the loop vectorizer can vectorize, instead of one libm
    call per element; f16 and bf16 go through f32. Powers with a constant
    exponent 1, -1, 0.5, -0.5, 2 or 3 become multiplications, divisions and
    square roots. Other math ops stay as they are.
  }];
  let dependentDialects = ["::mlir::math::MathDialect", "::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect"];
}

def TernExpandMinMaxPass : Pass<"tern-expand-min-max"> {
  let summary = "Writes maximumf/minimumf against a constant as one compare and one select";
  let description = [{
    For x86, which has no instruction with arith.maximumf's semantics (NaN
    propagated, -0 < +0): LLVM lowers each to five. Against a constant c
    that is not NaN (a Relu, a clamp), maximumf(x, c) is x <= c ? c : x
    (x < c for c = -0) and minimumf(x, c) is x >= c ? c : x (x > c for
    c = +0): the same results, NaN and zeros included, in two. Others stay.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def TernQuantizeWeightsPass : Pass<"tern-quantize-weights", "mlir::func::FuncOp"> {
  let summary = "Quantizes constant matmul weights: 4-bit weight-only, or int8 with dynamic activations";
  let description = [{
    What `ternc --quantize=int4-weight --group-size G` runs. Every
    `matmul(a, W)` and `gemm(a, W, c)` (no transA, alpha 1, beta 1) whose W
    is a constant f32 matrix of at least `min-elements` elements becomes a
    `matmul_nbits` with W quantized per column in groups of `group-size`
    along k, symmetric: s = c max |w| / 7 with c in [0.7, 1] of least squared
    error, q = clamp(round(w / s), -8, 7) + 8
    (MatMulNBits' implied zero point 8), two values per byte; a Gemm's bias
    of [n] becomes its bias, any other is added after. The MatMulNBits get
    `accuracy-level` (default 4): the kernel may then quantize the
    activations to int8 per row and group along k and multiply on the 8-bit
    dot-product units (as llama.cpp's Q4 x Q8 products); with 0 they stay
    f32 and the kernel dequantizes the weights to f32 in registers. Ops listed in
    `exclude` (ONNX node names, or op types such as Gemm) stay float, as do
    run-time weights and matrices below `min-elements`.

    With bits=8 (`ternc --quantize=int8-dynamic`), W becomes int8 per column
    (s = max |w| / 127) and the op `cast(matmul_integer(q, Wq, zq)) *
    (sa * s) (+ c)` with (q, sa, zq) = dynamic_quantize_linear(a): the
    activations quantized per tensor at run time, the product on 8-bit
    kernels.

    With `calibrated` (bits 8; `ternc --quantize=int8 --calibration-data
    DIR`), ops carry their activation's calibrated range as
    `tern.activation_range = array<f32: lo, hi>` and are quantized
    statically: the activation uint8 at s = (hi' - lo') / 255, z =
    round(-lo' / s) ([lo', hi'] the range widened to hold 0), a constant
    scale instead of DynamicQuantizeLinear; convolutions of one group on
    one image with static shapes too: filters int8
    per output channel, `conv(dequantize_linear(quantize_linear(x)),
    dequantize_linear(wq))`, which tern-integer-qdq runs on the integers.
    Ops without a range stay float.
  }];
  let options = [
    Option<"bits", "bits", "int64_t", /*default=*/"4", "4: int4 weights; 8: int8 weights, dynamic int8 activations">,
    Option<"calibrated", "calibrated", "bool", /*default=*/"false",
           "bits 8: activations at the scales of their calibrated ranges (tern.activation_range)">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"32", "Weights per scale along k (a power of 2 >= 16)">,
    Option<"minElements", "min-elements", "int64_t", /*default=*/"4096", "Smaller weight matrices stay float">,
    ListOption<"exclude", "exclude", "std::string", "Node names or op types to leave in float">,
    Option<"accuracyLevel", "accuracy-level", "int64_t", /*default=*/"4",
           "bits 4: the MatMulNBits' accuracy_level (4: activations may be quantized to int8 in the kernel; 0: f32)">,
  ];
  let dependentDialects = ["::tern::TernDialect"];
}

def TernPruneWeightsPass : Pass<"tern-prune-weights", "mlir::func::FuncOp"> {
  let summary = "Prunes constant matmul and conv weights to the 2:4 sparsity pattern";
  let description = [{
    What `ternc --sparsity=2:4` runs. In the constant f32 weights of every
    `matmul` (B [k, n]), `gemm` (B, or B [n, k] with transB) and `conv`
    (filters [f, c, kh, kw], k = (c, kh, kw)) of at least `min-elements`
    elements, each group of 4 consecutive weights along k keeps its 2 of
    largest magnitude and the other 2 become 0 (magnitude pruning, 50%
    sparsity). The pruned weights are a new constant; a weight also read by
    other ops keeps its values there. Ops listed in `exclude` (ONNX node
    names, or op types such as MatMul) and run-time weights are left dense.
    tern-vectorize-contractions runs constant weights with this pattern on a
    kernel that stores and reads only the non-zeros.

    With pattern=block (`ternc --sparsity=block:R`), MatMul and Gemm
    weights are pruned in blocks of one k row by `block-columns` columns:
    in each group of columns the floor(R k) rows of least L2 norm there
    become 0. tern-vectorize-contractions stores each panel's remaining
    rows (and their k) and skips the others, at any number of rows.
  }];
  let options = [
    Option<"pattern", "pattern", "std::string", /*default=*/"\"2:4\"", "The sparsity pattern: 2:4 or block">,
    Option<"ratio", "ratio", "double", /*default=*/"0.5", "pattern=block: the share of rows zeroed per block of columns">,
    Option<"blockColumns", "block-columns", "int64_t", /*default=*/"32",
           "pattern=block: columns per block (a multiple of the kernels' panel widths)">,
    Option<"minElements", "min-elements", "int64_t", /*default=*/"4096", "Smaller weights stay dense">,
    ListOption<"exclude", "exclude", "std::string", "Node names or op types to leave dense">,
  ];
  let dependentDialects = ["::tern::TernDialect"];
}

def TernIntegerQDQPass : Pass<"tern-integer-qdq", "mlir::func::FuncOp"> {
  let summary = "Runs QDQ convolutions on their integers";
  let description = [{
    `conv(dequantize_linear(xq, sx, zx), dequantize_linear(wq, sw, zw), b)`
    (ONNX Runtime's QDQ format), with xq 8-bit activations, sx one constant
    scale, zx one zero point, wq constant 8-bit filters with a constant
    scale and zero point per tensor or per output channel, one group and a
    float result, becomes

      cast<f32>(conv_integer(xq, wq, zx, zw)) * (sx * sw)[f] + b

    (the scales one constant [F, 1, ...], the bias reshaped to it). The
    integer convolution is exact and runs on 8-bit dot products; the scale
    and bias fuse with what follows as an epilogue. Convolutions of grouped
    (depthwise) filters, blockwise or run-time scales, or float inputs are
    left to tern-fold-weight-dequantization's float weights.
  }];
  let dependentDialects = ["::tern::TernDialect"];
}

def TernInt16ActivationsPass : Pass<"tern-int16-activations", "mlir::func::FuncOp"> {
  let summary = "Runs float matmuls on 8-bit weights as integer products of 16-bit activations";
  let description = [{
    `matmul(a, dequantize_linear(q, s, z))` with a f32 (static k) and q a
    constant [k, n] int8/uint8 matrix whose scale and zero point are per
    tensor or per column (what a QDQ model's weight-only matmuls, such as
    gpt2-124m.int8-dynamic's LM head, keep in float) becomes

      d = max(reduce_max(abs(a), k), 1e-30) / Q
      cast<f32>(matmul_integer(quantize_linear<i16>(a, d), q, z)) * d * s

    with a's rows quantized to 16 bits (Q levels, block-wise along k) and
    the products summed in i32 on pmaddwd / vpdpwssd: twice the f32 FMAs'
    rate, half their weight bytes. Q = min(32767, (2^31 - 1) / (k max|q - z|)
    - 1), max|q - z| over q's type range, keeps every sum in i32; below 4095 levels (a very long k) the op is
    left. Each activation then carries a relative error of at most 2^-(log2 Q
    + 1) of its row's largest value. Per-row or block-wise weight scales,
    run-time weights and non-f32 matmuls are left to
    tern-fold-weight-dequantization's f32 weights. ternc runs it on x86-64
    CPU targets (`--int8-weight-compute=int16`, the default there; `f32`
    keeps the float product).
  }];
  let dependentDialects = ["::tern::TernDialect"];
}

def TernFoldWeightDequantizationPass : Pass<"tern-fold-weight-dequantization", "mlir::func::FuncOp"> {
  let summary = "Dequantizes constant weights at compile time";
  let description = [{
    A DequantizeLinear whose input, scale and zero point are constants (a
    QDQ model's int8 weights and int32 biases, per tensor, per axis or per
    block) becomes the f32 constant it computes. Computed at run time, the
    dequantized weights would be values the matmul and convolution kernels
    cannot pack, which then run as scalar loops. (The convolutions that
    tern-integer-qdq, run before it, makes integer keep their int8 weights;
    the others take 4x the space of the int8 ones.) DequantizeLinear of
    values computed at run time (activations) is left.
  }];
  let dependentDialects = ["::tern::TernDialect"];
}

def TernFoldBatchNormalizationPass : Pass<"tern-fold-batch-normalization", "mlir::func::FuncOp"> {
  let summary = "Folds a BatchNormalization after a convolution into its weights and bias";
  let description = [{
    `batch_normalization(conv(x, W, b), scale, bias, mean, var)` with every
    parameter, W and b constants becomes `conv(x, W', b')` with
    `W'[f] = W[f] * s[f]`, `b' = (b - mean) * s + bias`,
    `s = scale / sqrt(var + epsilon)`, computed at compile time (a bias is
    added when the convolution had none). A convolution read elsewhere, or
    statistics computed at run time, are left.
  }];
  let dependentDialects = ["::tern::TernDialect"];
}

def TernWinogradConvPass : Pass<"tern-winograd-conv", "mlir::func::FuncOp"> {
  let summary = "Runs 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3) or F(4x4, 3x3)";
  let description = [{
    A float `conv` with 3 x 3 constant filters, stride and dilation 1, one
    group, static shapes and channel counts that are multiples of 8 becomes
    `winograd_conv`, its filters transformed at compile time into
    [(m + 2)^2, C, F], when a cost model (multiply-adds, transform work and
    the transformed filters' bytes) says it saves a quarter of the direct
    convolution's time; m = 4 or 2, whichever costs less. `tile` forces m.
    ternc runs it for CPU targets (`--winograd=off` keeps direct
    convolutions).

    ```mlir
    %y = tern.conv %x, %w, %b {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>,
           pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : ...
    // becomes
    %u = tern.constant dense_resource<winograd_filters> : tensor<36x64x64xf32>
    %y = tern.winograd_conv %x, %u, %b {tile = 4 : i64, pads = array<i64: 1, 1, 1, 1>} : ...
    ```
  }];
  let options = [
    Option<"tile", "tile", "int64_t", /*default=*/"0",
           "Output tile m (2 or 4) for every convolution that qualifies; 0: chosen by the cost model">,
  ];
  let dependentDialects = ["::tern::TernDialect"];
}

def TernFuseGeluPass : Pass<"tern-fuse-gelu", "mlir::func::FuncOp"> {
  let summary = "Turns written-out GELU chains (tanh and erf forms) into tern.gelu";
  let description = [{
    `0.5 * x * (1 + tanh(0.7978845608 * (x + 0.044715 * x^3)))`, as GPT-2's
    exporter writes it (Mul, Pow, Mul, Add, Mul, Tanh, Add, Mul), becomes
    `tern.gelu %x {approximate = "tanh"}`; `0.5 * x * (1 + erf(x / sqrt 2))`
    becomes `tern.gelu %x`. The products may come in any order and
    grouping. Chains whose intermediates are read elsewhere, or whose
    constants differ, are left.
  }];
  let dependentDialects = ["::tern::TernDialect"];
}

def TernFuseAttentionPass : Pass<"tern-fuse-attention", "mlir::func::FuncOp"> {
  let summary = "Turns exported attention (MatMul, scale, mask, Softmax, MatMul) into tern.attention";
  let description = [{
    `softmax(q x k^T * c + mask) x v` on rank-4 [B, H, S, D] tensors, as
    exporters write it (the scale a Mul or Div by a constant, the mask an
    Add, both optional; k^T a Transpose of k or of its [B, L, H, D]
    projection), becomes `tern.attention %q, %k, %v[, %mask] {scale = c}`,
    lowered with an online softmax over blocks of keys so the score matrix
    is never stored. Keys and values repeated per query head for
    grouped-query attention (Unsqueeze at 2, Expand, Reshape) are read from
    their own heads. Chains whose intermediates are read elsewhere, whose
    softmax is along another dim, whose shapes are dynamic or whose batch or
    head dims broadcast are left.
  }];
  let dependentDialects = ["::tern::TernDialect"];
}

def TernFusePointwiseDepthwisePass : Pass<"tern-fuse-pointwise-depthwise", "mlir::func::FuncOp"> {
  let summary = "Fuses a pointwise convolution into the depthwise convolution it feeds, computed in row bands";
  let description = [{
    `conv(x, w_e)` (1x1, stride 1, no pads), an optional Relu or Clip with
    constant bounds, then a depthwise `conv(., w) {group = E}` (window up
    to 7 x 7) and its optional Relu or Clip (an inverted-residual block's
    first two convolutions) become `tern.pointwise_depthwise_conv`, whose
    lowering computes a band of output rows and a group of channels of
    both at a time, so the expanded [N, E, H, W] tensor never goes to
    memory whole. Only where that tensor has at least `min-expanded-bytes`;
    chains whose intermediates are read elsewhere, or whose channel or
    spatial dims are dynamic, are left.
  }];
  let options = [
    Option<"minExpandedBytes", "min-expanded-bytes", "int64_t", /*default=*/"524288",
           "Fuse only where the expanded tensor has at least this many bytes">,
  ];
  let dependentDialects = ["::tern::TernDialect"];
}

def TernFuseNormalizationPass : Pass<"tern-fuse-normalization", "mlir::func::FuncOp"> {
  let summary = "Turns written-out RMSNorm and LayerNorm chains into tern.normalization";
  let description = [{
    RMSNorm as Llama exports it, `w * (x * Reciprocal(Sqrt(ReduceMean(Pow(x, 2)) + eps)))`
    (or `x / Sqrt(..)`), becomes `tern.normalization %x, %w {kind = "rms"}`;
    LayerNorm written out, `(x - m) / Sqrt(ReduceMean((x - m)^2) + eps) * g + b`
    with `m = ReduceMean(x)`, becomes `tern.normalization %x, %g, %b
    {kind = "layer"}`. The means must reduce the trailing dims with
    keepdims; chains with intermediates read elsewhere, or a scale that would
    broadcast x to a larger shape, are left.
  }];
  let dependentDialects = ["::tern::TernDialect"];
}

def TernSinkConstantComputationsPass : Pass<"tern-sink-constant-computations", "mlir::func::FuncOp"> {
  let summary = "Moves ops computed from constants alone to just before their first use";
  let description = [{
    QDQ exports put every weight's DequantizeLinear at the top of the graph;
    computed there, all dequantized weights would be live at once. Each tern
    op whose operands are constants (or other such ops) moves to just before
    its first user, which lengthens no other value's lifetime. Ops that read
    a model input or any computed value stay where they are.
  }];
  let dependentDialects = ["::tern::TernDialect"];
}

#endif // TERN_PASSES_TD

def TernVectorizeTransposesPass : Pass<"tern-vectorize-transposes"> {
  let summary = "Runs elementwise ops that transpose as register-transposed tiles";
  let description = [{
    An elementwise linalg.generic on buffers (all loops parallel, arith/math
    body, static output in loop order with a unit-stride last dim) one of
    whose inputs runs with unit stride along a loop p other than the
    output's innermost loop, which it reads in another position (a
    convolution's [positions, channels] result written back as NCHW with
    its epilogue), becomes tiles of L x L (L = vector-bits / the widest
    element or body type): per output position along the innermost loop,
    the body on a vector of L values along p; the tile transposed in
    registers (vector.transpose) and stored as L vectors along the
    innermost loop. Other inputs must read p as their last dim (vectors),
    the innermost loop as their last dim and not p (one value per row), or
    neither (one value per tile). Edges are masked; the other loops form an
    scf.parallel.

    Ops without such an input, with dynamic shapes, index semantics,
    reductions or elements wider than 32 bits are left as they are.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "int64_t", /*default=*/"512", "Vector register width in bits">,
  ];
  let dependentDialects = ["::mlir::vector::VectorDialect", "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect"];
}

def TernVectorizeReductionsPass : Pass<"tern-vectorize-reductions"> {
  let summary = "Runs reductions along the innermost loop on vector accumulators";
  let description = [{
    A linalg.generic on buffers whose innermost loop is a reduction and
    whose body yields combine(out, f(inputs)) (combine: addf, mulf,
    maximumf, minimumf, maxnumf, minnumf, addi, muli, max/min signed or
    unsigned, and/or/xor; f: arith/math elementwise ops, no integer
    divisions), its output read only by the combine and not along the
    innermost loop, and its inputs read along that loop with unit stride as
    their last dim or not at all, becomes loops over the outer dims (an
    scf.parallel over the leading parallel ones) around a row loop that
    keeps `accumulators` vector accumulators (vector-bits / widest element
    lanes) started at the combine's identity; the row's last partial
    vector is masked. At the end of each row the accumulators are combined,
    reduced across lanes (vector.reduction) and combined into the output
    element. Float sums and products are reassociated.

    Reductions along an outer loop (the innermost loop parallel), rows
    shorter than one vector, ops with index semantics, i1 elements, or
    inputs that read the innermost loop in another position are left as
    they are.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "int64_t", /*default=*/"512", "Vector register width in bits">,
    Option<"accumulators", "accumulators", "int64_t", /*default=*/"4",
           "Independent vector accumulators per row (hides the combine's latency)">,
  ];
  let dependentDialects = ["::mlir::vector::VectorDialect", "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect"];
}

def TernVectorizeRowsPass : Pass<"tern-vectorize-rows"> {
  let summary = "Runs elementwise ops along short rows as masked vectors";
  let description = [{
    An elementwise linalg.generic on buffers (all loops parallel, arith/math
    body, output in loop order with a unit-stride, static last dim) whose
    rows are short or not a multiple of the vector length (at most 8
    vectors) becomes an scf.parallel over its outer dims; each row runs as
    whole vectors of vector-bits / element bits lanes, the last one masked.
    Inputs that read the row's position as their last dim, with unit
    stride, are loaded as vectors; inputs that do not read it at all (a
    depthwise convolution's weights, a bias per channel) are loaded once per
    row and broadcast. Depthwise convolutions on 14x14 and 7x7 maps, which
    LLVM's loop vectorizer leaves scalar, are the case this is for.

    Rows of whole vectors are rewritten only when some input is one value
    per row (LLVM would reload it for every element, unable to prove the
    output does not alias it). Longer rows, strided rows, ops with
    reductions, 64-bit elements, integer divisions (masked-off lanes would
    divide by zero) or inputs that read the row's position other than as
    their last dim are left to LLVM.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "int64_t", /*default=*/"512", "Vector register width in bits">,
  ];
  let dependentDialects = ["::mlir::vector::VectorDialect", "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect"];
}
