//===- tern-run.cpp - run, check and benchmark a compiled model -----------===//
//
//   tern-run model.so --data DIR [--rtol R] [--atol A]
//   tern-run model.so --input NAME=FILE.npy|FILE.pb ... [--output-dir DIR]
//   tern-run model.so --benchmark [--warmup W] [--runs N] [--threads T] [--json]
//   tern-run model.onnx ...        (compiles with ternc first)
//   tern-run model.onnx --compare-to-float --ternc-arg=--quantize=int8-dynamic
//                                  (layer by layer against the float build)
//
// Exit status: 0 when every output matches (or nothing was compared), 1 when
// one does not, 2 on an error. Links only tern's runtime: no LLVM, no MLIR.
//
//===----------------------------------------------------------------------===//

#include "TensorFiles.h"
#include "tern/tern.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <map>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using tern::tools::HostTensor;

namespace {

struct Options {
  std::string model;
  std::string dataDir;
  std::vector<std::pair<std::string, std::string>> inputs;
  std::string outputDir;
  double rtol = 1e-3, atol = 1e-5;
  bool benchmark = false, json = false;
  int warmup = 3, runs = 10, threads = 0;
  std::vector<std::string> terncArgs;
  /// --input-shape: the dims of generated inputs (and, for an ONNX model,
  /// ternc's pinned shapes).
  std::map<std::string, std::vector<int64_t>> shapes;
  std::string ternc;
  bool compareToFloat = false;
  double snrThreshold = 20;
};

int usage() {
  std::fprintf(stderr,
               "usage: tern-run MODEL.so|MODEL.onnx [--data DIR] [--input NAME=FILE]... [--output-dir DIR]\n"
               "                [--rtol R] [--atol A] [--benchmark [--warmup W] [--runs N] [--json]]\n"
               "                [--threads T] [--ternc PATH] [--ternc-arg ARG]... [--input-shape NAME=DIMS]...\n"
               "       tern-run MODEL.onnx --compare-to-float --ternc-arg ARG... [--snr-threshold DB]\n"
               "                [--data DIR | --input NAME=FILE...]\n");
  return 2;
}

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "tern-run: error: %s\n", message.c_str());
  std::exit(2);
}

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Compiles `o.model` to a temporary library with ternc and `args`.
std::string compile(const Options &o, const std::vector<std::string> &extra, std::string &tmpDir) {
  char dirTemplate[] = "/tmp/tern-run-XXXXXX";
  if (!mkdtemp(dirTemplate))
    die("cannot create a temporary directory");
  tmpDir = dirTemplate;
  std::string lib = tmpDir + "/model.so";
  std::string ternc = o.ternc;
  if (ternc.empty()) {
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
      self[n] = 0;
      std::string dir(self);
      dir = dir.substr(0, dir.rfind('/'));
      if (access((dir + "/ternc").c_str(), X_OK) == 0)
        ternc = dir + "/ternc";
    }
    if (ternc.empty())
      ternc = "ternc";
  }
  std::vector<std::string> args{ternc, o.model, "-o", lib};
  args.insert(args.end(), extra.begin(), extra.end());
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char *> argv;
    for (auto &a : args)
      argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    std::fprintf(stderr, "tern-run: error: cannot run %s\n", argv[0]);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    die("compiling " + o.model + " failed");
  return lib;
}

/// Compiles an .onnx model to a temporary library with ternc.
std::string compileFirst(const Options &o, std::string &tmpDir) { return compile(o, o.terncArgs, tmpDir); }

void removeDir(const std::string &dir) {
  if (dir.empty())
    return;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d))
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
        unlink((dir + "/" + e->d_name).c_str());
    closedir(d);
  }
  rmdir(dir.c_str());
}

/// `prefix_N.pb` files of a test-data folder, in N order.
std::vector<std::string> numberedFiles(const std::string &dir, const std::string &prefix) {
  std::map<int, std::string> found;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d)) {
      std::string name = e->d_name;
      if (name.rfind(prefix + "_", 0) == 0 && endsWith(name, ".pb"))
        found[std::atoi(name.c_str() + prefix.size() + 1)] = dir + "/" + name;
    }
    closedir(d);
  }
  std::vector<std::string> files;
  for (auto &[n, f] : found)
    files.push_back(f);
  return files;
}

bool isFloat(tern_dtype t) {
  return t == TERN_FLOAT || t == TERN_DOUBLE || t == TERN_FLOAT16 || t == TERN_BFLOAT16;
}

/// Compares one output with its expected value; prints what differs.
bool compare(const std::string &name, const tern_tensor &got, const HostTensor &want, const Options &o) {
  std::string gotShape, wantShape;
  for (int32_t i = 0; i < got.rank; ++i)
    gotShape += (i ? "x" : "") + std::to_string(got.dims[i]);
  for (size_t i = 0; i < want.dims.size(); ++i)
    wantShape += (i ? "x" : "") + std::to_string(want.dims[i]);
  if (got.dtype != want.dtype) {
    std::printf("output '%s': element type %s, expected %s\n", name.c_str(), tern_dtype_name(got.dtype),
                tern_dtype_name(want.dtype));
    return false;
  }
  if (static_cast<size_t>(got.rank) != want.dims.size() ||
      !std::equal(want.dims.begin(), want.dims.end(), got.dims)) {
    std::printf("output '%s': shape [%s], expected [%s]\n", name.c_str(), gotShape.c_str(), wantShape.c_str());
    return false;
  }
  size_t n = want.count(), bad = 0, firstBad = 0;
  double maxAbs = 0, maxRel = 0;
  for (size_t i = 0; i < n; ++i) {
    double a = tern::tools::elementAsDouble(got.dtype, got.data, i);
    double b = tern::tools::elementAsDouble(want.dtype, want.data.data(), i);
    bool ok;
    if (isFloat(got.dtype)) {
      if (std::isnan(a) || std::isnan(b))
        ok = std::isnan(a) && std::isnan(b);
      else if (std::isinf(a) || std::isinf(b))
        ok = a == b;
      else
        ok = std::fabs(a - b) <= o.atol + o.rtol * std::fabs(b);
    } else {
      ok = a == b;
    }
    if (!std::isnan(a) && !std::isnan(b) && !std::isinf(a) && !std::isinf(b)) {
      maxAbs = std::max(maxAbs, std::fabs(a - b));
      if (b != 0)
        maxRel = std::max(maxRel, std::fabs(a - b) / std::fabs(b));
    }
    if (!ok && bad++ == 0)
      firstBad = i;
  }
  if (bad) {
    std::printf("output '%s' [%s]: %zu of %zu elements differ (first at %zu: %.9g, expected %.9g); "
                "max abs error %.3g, max rel error %.3g (rtol %g, atol %g)\n",
                name.c_str(), gotShape.c_str(), bad, n, firstBad,
                tern::tools::elementAsDouble(got.dtype, got.data, firstBad),
                tern::tools::elementAsDouble(want.dtype, want.data.data(), firstBad), maxAbs, maxRel, o.rtol,
                o.atol);
    return false;
  }
  std::printf("output '%s' [%s]: matches (max abs error %.3g)\n", name.c_str(), gotShape.c_str(), maxAbs);
  return true;
}

/// What inputs that neither --data nor --input gives become.
enum class Fill { None, Zeros, Random };

/// The model's inputs: from the data folder by position (its expected
/// outputs into `expected`), then --input by name; the others as `fill`
/// says (dynamic dims as 1): zeros (benchmarks) or seeded values (floats in
/// [-1, 1), integers in [0, 32): token ids of any vocabulary).
void loadInputs(const Options &o, const std::vector<tern_tensor_info> &inInfo, Fill fill,
                std::vector<HostTensor> &inputs, std::vector<HostTensor> &expected) {
  size_t numIn = inInfo.size();
  inputs.assign(numIn, HostTensor());
  std::vector<bool> given(numIn, false);
  std::string error;
  if (!o.dataDir.empty()) {
    std::vector<std::string> files = numberedFiles(o.dataDir, "input");
    if (files.size() != numIn)
      die(o.dataDir + " has " + std::to_string(files.size()) + " inputs, the model takes " + std::to_string(numIn));
    for (size_t i = 0; i < numIn; ++i) {
      if (!tern::tools::readTensorProto(files[i], inputs[i], error))
        die(error);
      given[i] = true;
    }
    for (const std::string &f : numberedFiles(o.dataDir, "output")) {
      HostTensor t;
      if (!tern::tools::readTensorProto(f, t, error))
        die(error);
      expected.push_back(std::move(t));
    }
  }
  for (auto &[name, file] : o.inputs) {
    size_t i = 0;
    while (i < numIn && name != inInfo[i].name)
      ++i;
    if (i == numIn)
      die("the model has no input named '" + name + "'");
    if (!tern::tools::readTensorFile(file, inputs[i], error))
      die(error);
    given[i] = true;
  }
  uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&]() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(state >> 33);
  };
  for (size_t i = 0; i < numIn; ++i) {
    if (given[i])
      continue;
    if (fill == Fill::None)
      die("no value for input '" + std::string(inInfo[i].name) + "' (use --data or --input)");
    HostTensor &t = inputs[i];
    t.dtype = inInfo[i].dtype;
    t.dims.assign(inInfo[i].dims, inInfo[i].dims + inInfo[i].rank);
    if (auto it = o.shapes.find(inInfo[i].name); it != o.shapes.end()) {
      // The model checks the dims against its own (a static one that
      // differs is its error to report, naming the input).
      if (it->second.size() != t.dims.size())
        die("--input-shape " + it->first + ": " + std::to_string(it->second.size()) + " dims, the input has " +
            std::to_string(t.dims.size()));
      t.dims = it->second;
    }
    for (int64_t &d : t.dims)
      d = d < 0 ? 1 : d;
    size_t size = tern_dtype_size(t.dtype);
    t.data.assign(t.count() * size, 0);
    if (fill != Fill::Random)
      continue;
    for (size_t e = 0; e < t.count(); ++e) {
      char *p = t.data.data() + e * size;
      if (t.dtype == TERN_FLOAT) {
        float v = (float)(next() % 65536) / 32768.0f - 1.0f;
        std::memcpy(p, &v, 4);
      } else if (t.dtype == TERN_INT64) {
        int64_t v = next() % 32;
        std::memcpy(p, &v, 8);
      } else if (t.dtype == TERN_INT32) {
        int32_t v = next() % 32;
        std::memcpy(p, &v, 4);
      } else if (size == 1) {
        *p = (char)(t.dtype == TERN_BOOL ? next() % 2 : next() % 32);
      }
    }
  }
  // ONNX's older test data store bfloat16 tensors as uint16.
  for (size_t i = 0; i < numIn; ++i)
    if (inputs[i].dtype == TERN_UINT16 && inInfo[i].dtype == TERN_BFLOAT16)
      inputs[i].dtype = TERN_BFLOAT16;
}

} // namespace

/// `--compare-to-float`: the model compiled with the given ternc flags
/// (quantized, pruned) and without them, both exposing every float tensor
/// (ternc --expose-intermediates), run on the same inputs; prints, for each
/// tensor both compute, in graph order, the relative error ||q - f|| / ||f||
/// and the signal-to-noise ratio 10 log10(sum f^2 / sum (q - f)^2), and names
/// the first below `snrThreshold` dB. Exit 1 when one is, else 0.
int compareToFloat(Options &o) {
  if (!endsWith(o.model, ".onnx") && !endsWith(o.model, ".onnxtext"))
    die("--compare-to-float compiles the model twice: give the .onnx file");
  // The float build: the same flags without those that change the weights
  // (and their calibration).
  std::vector<std::string> floatArgs{"--expose-intermediates"}, variantArgs{"--expose-intermediates"};
  std::string changes;
  for (const std::string &a : o.terncArgs) {
    variantArgs.push_back(a);
    bool weights = a.rfind("--quantize", 0) == 0 || a.rfind("--group-size", 0) == 0 ||
                   a.rfind("--sparsity", 0) == 0 || a.rfind("--calibration", 0) == 0;
    if (weights)
      changes += (changes.empty() ? "" : " ") + a;
    else
      floatArgs.push_back(a);
  }
  if (changes.empty())
    die("--compare-to-float needs the flags that quantize or prune (--ternc-arg=--quantize=..., "
        "--ternc-arg=--sparsity=2:4)");
  std::string floatDir, variantDir;
  std::string floatLib = compile(o, floatArgs, floatDir);
  std::string variantLib = compile(o, variantArgs, variantDir);
  auto cleanup = [&]() {
    removeDir(floatDir);
    removeDir(variantDir);
  };
  tern_options options{};
  options.num_threads = o.threads;
  tern_model *models[2] = {nullptr, nullptr};
  for (int m = 0; m < 2; ++m)
    if (tern_model_open((m ? variantLib : floatLib).c_str(), &options, &models[m]) != TERN_OK) {
      std::string message = tern_last_error();
      cleanup();
      die(message);
    }
  size_t numIn = tern_model_num_inputs(models[0]);
  std::vector<tern_tensor_info> inInfo(numIn);
  for (size_t i = 0; i < numIn; ++i)
    tern_model_input_info(models[0], i, &inInfo[i]);
  std::vector<HostTensor> inputs, expected;
  loadInputs(o, inInfo, Fill::Random, inputs, expected);
  std::vector<tern_tensor> in(numIn);
  for (size_t i = 0; i < numIn; ++i)
    in[i] = inputs[i].view();
  std::vector<tern_tensor> outs[2];
  std::vector<std::string> names[2];
  for (int m = 0; m < 2; ++m) {
    size_t numOut = tern_model_num_outputs(models[m]);
    outs[m].assign(numOut, tern_tensor{});
    for (size_t i = 0; i < numOut; ++i) {
      tern_tensor_info info;
      tern_model_output_info(models[m], i, &info);
      names[m].push_back(info.name);
    }
    if (tern_model_run(models[m], in.data(), numIn, outs[m].data(), numOut) != TERN_OK) {
      std::string message = tern_last_error();
      cleanup();
      die(message);
    }
  }
  std::map<std::string, size_t> floatIndex;
  for (size_t i = 0; i < names[0].size(); ++i)
    floatIndex[names[0][i]] = i;
  std::printf("%s with %s against its float build, same inputs (SNR threshold %g dB):\n", o.model.c_str(),
              changes.c_str(), o.snrThreshold);
  std::printf("%-48s %-16s %12s %10s\n", "tensor", "shape", "rel error", "SNR dB");
  std::string first;
  double firstSnr = 0, firstRel = 0;
  size_t compared = 0;
  // In graph order (ternc --expose-intermediates returns the intermediates
  // first, the graph outputs last).
  for (size_t i = 0; i < names[1].size(); ++i) {
    auto it = floatIndex.find(names[1][i]);
    if (it == floatIndex.end())
      continue;
    const tern_tensor &q = outs[1][i], &f = outs[0][it->second];
    if (!isFloat(q.dtype) || q.dtype != f.dtype || q.rank != f.rank || !std::equal(q.dims, q.dims + q.rank, f.dims))
      continue;
    size_t n = 1;
    std::string shape;
    for (int32_t d = 0; d < q.rank; ++d) {
      n *= q.dims[d];
      shape += (d ? "x" : "") + std::to_string(q.dims[d]);
    }
    double signal = 0, noise = 0;
    for (size_t e = 0; e < n; ++e) {
      double a = tern::tools::elementAsDouble(q.dtype, q.data, e), b = tern::tools::elementAsDouble(f.dtype, f.data, e);
      signal += b * b;
      noise += (a - b) * (a - b);
    }
    double rel = signal > 0 ? std::sqrt(noise / signal) : (noise > 0 ? INFINITY : 0);
    double snr = noise > 0 ? 10 * std::log10(signal / noise) : INFINITY;
    bool bad = std::isnan(snr) || snr < o.snrThreshold;
    std::printf("%-48s %-16s %12.3g %10.1f%s\n", names[1][i].c_str(), ("[" + shape + "]").c_str(), rel, snr,
                bad && first.empty() ? "  <- first below the threshold" : "");
    if (bad && first.empty()) {
      first = names[1][i];
      firstSnr = snr;
      firstRel = rel;
    }
    ++compared;
  }
  if (first.empty())
    std::printf("%zu tensors compared: every one at or above %g dB\n", compared, o.snrThreshold);
  else
    std::printf("%zu tensors compared: first below %g dB: %s (SNR %.1f dB, relative error %.3g)\n", compared,
                o.snrThreshold, first.c_str(), firstSnr, firstRel);
  for (int m = 0; m < 2; ++m) {
    for (auto &t : outs[m])
      tern_tensor_release(&t);
    tern_model_close(models[m]);
  }
  cleanup();
  return first.empty() ? 0 : 1;
}

int main(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      size_t eq = a.find('=');
      if (a.rfind("--", 0) == 0 && eq != std::string::npos)
        return a.substr(eq + 1);
      if (i + 1 >= argc)
        die("missing value for " + a);
      return argv[++i];
    };
    std::string key = a.substr(0, a.find('='));
    if (key == "--data") o.dataDir = value();
    else if (key == "--input") {
      std::string v = value();
      size_t eq = v.find('=');
      if (eq == std::string::npos)
        die("--input expects NAME=FILE, got '" + v + "'");
      o.inputs.push_back({v.substr(0, eq), v.substr(eq + 1)});
    } else if (key == "--output-dir") o.outputDir = value();
    else if (key == "--rtol") o.rtol = std::atof(value().c_str());
    else if (key == "--atol") o.atol = std::atof(value().c_str());
    else if (key == "--benchmark") o.benchmark = true;
    else if (key == "--json") o.json = true;
    else if (key == "--warmup") o.warmup = std::atoi(value().c_str());
    else if (key == "--runs") o.runs = std::max(1, std::atoi(value().c_str()));
    else if (key == "--threads") o.threads = std::atoi(value().c_str());
    else if (key == "--ternc") o.ternc = value();
    else if (key == "--ternc-arg") o.terncArgs.push_back(value());
    else if (key == "--compare-to-float") o.compareToFloat = true;
    else if (key == "--snr-threshold") o.snrThreshold = std::atof(value().c_str());
    else if (key == "--input-shape") {
      std::string v = value();
      size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
        die("--input-shape expects NAME=DIMS (DIMS as 1x128), got '" + v + "'");
      std::vector<int64_t> dims;
      size_t at = eq + 1;
      while (at <= v.size()) {
        size_t x = v.find('x', at);
        std::string part = v.substr(at, x == std::string::npos ? std::string::npos : x - at);
        char *end = nullptr;
        long long d = std::strtoll(part.c_str(), &end, 10);
        if (part.empty() || *end || d < 0)
          die("--input-shape expects NAME=DIMS (DIMS as 1x128), got '" + v + "'");
        dims.push_back(d);
        if (x == std::string::npos)
          break;
        at = x + 1;
      }
      o.shapes[v.substr(0, eq)] = dims;
      o.terncArgs.push_back("--input-shape=" + v);
    }
    else if (key == "-h" || key == "--help") return usage(), 0;
    else if (a[0] == '-') die("unknown option " + a);
    else if (o.model.empty()) o.model = a;
    else die("unexpected argument " + a);
  }
  if (o.model.empty())
    return usage();
  if (o.compareToFloat)
    return compareToFloat(o);

  std::string tmpDir, library = o.model;
  if (endsWith(o.model, ".onnx") || endsWith(o.model, ".onnxtext"))
    library = compileFirst(o, tmpDir);

  tern_options options{};
  options.num_threads = o.threads;
  tern_model *model = nullptr;
  if (tern_model_open(library.c_str(), &options, &model) != TERN_OK) {
    removeDir(tmpDir);
    die(tern_last_error());
  }
  size_t numIn = tern_model_num_inputs(model), numOut = tern_model_num_outputs(model);
  std::vector<tern_tensor_info> inInfo(numIn), outInfo(numOut);
  for (size_t i = 0; i < numIn; ++i)
    tern_model_input_info(model, i, &inInfo[i]);
  for (size_t i = 0; i < numOut; ++i)
    tern_model_output_info(model, i, &outInfo[i]);

  std::vector<HostTensor> inputs, expected;
  loadInputs(o, inInfo, o.benchmark ? Fill::Zeros : Fill::None, inputs, expected);
  for (size_t i = 0; i < expected.size() && i < numOut; ++i)
    if (expected[i].dtype == TERN_UINT16 && outInfo[i].dtype == TERN_BFLOAT16)
      expected[i].dtype = TERN_BFLOAT16;
  std::vector<tern_tensor> in(numIn);
  for (size_t i = 0; i < numIn; ++i)
    in[i] = inputs[i].view();

  std::vector<tern_tensor> out(numOut);
  auto runOnce = [&]() {
    for (auto &t : out) {
      tern_tensor_release(&t);
      t = tern_tensor{};
    }
    if (tern_model_run(model, in.data(), numIn, out.data(), numOut) != TERN_OK) {
      std::string message = tern_last_error();
      tern_model_close(model);
      removeDir(tmpDir);
      die(message);
    }
  };

  int status = 0;
  if (o.benchmark) {
    for (int i = 0; i < o.warmup; ++i)
      runOnce();
    std::vector<double> ms;
    for (int i = 0; i < o.runs; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      runOnce();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    double median = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                      : (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]) / 2;
    if (o.json)
      std::printf("{\"model\": \"%s\", \"median_ms\": %.4f, \"min_ms\": %.4f, \"runs\": %d, \"warmup\": %d, "
                  "\"threads\": %d}\n",
                  tern_model_name(model), median, sorted.front(), o.runs, o.warmup, tern_model_num_threads(model));
    else
      std::printf("%s: median %.3f ms, min %.3f ms over %d runs (%d warm-up, %d threads)\n", tern_model_name(model),
                  median, sorted.front(), o.runs, o.warmup, tern_model_num_threads(model));
  } else {
    runOnce();
  }

  if (!expected.empty()) {
    if (expected.size() != numOut) {
      std::printf("%zu expected outputs, the model has %zu\n", expected.size(), numOut);
      status = 1;
    }
    for (size_t i = 0; i < std::min(expected.size(), numOut); ++i)
      if (!compare(outInfo[i].name, out[i], expected[i], o))
        status = 1;
  }
  if (!o.outputDir.empty()) {
    std::string error;
    mkdir(o.outputDir.c_str(), 0755);
    for (size_t i = 0; i < numOut; ++i) {
      std::string name = outInfo[i].name;
      std::replace(name.begin(), name.end(), '/', '_');
      if (!tern::tools::writeNpy(o.outputDir + "/" + name + ".npy", out[i], error)) {
        std::fprintf(stderr, "tern-run: error: %s\n", error.c_str());
        status = 2;
      }
    }
  }
  for (auto &t : out)
    tern_tensor_release(&t);
  tern_model_close(model);
  removeDir(tmpDir);
  return status;
}
