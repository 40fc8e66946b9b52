// The table of CPU kernels compiled per instruction set (csrc/cpu/isa/*.cpp, once each for
// generic x86-64, AVX2+FMA and AVX-512) and the selection made by cpuid at import.
// Kernels take validated raw pointers and POD params; they never check user input.
#pragma once
#include <cstdint>
#include "core/dtype.h"
#include "core/iter.h"

namespace pyml {

enum class UnaryOp : int {
  Neg, Abs, Sign, Exp, Exp2, Expm1, Log, Log2, Log10, Log1p, Sqrt, Rsqrt, Sin, Cos, Tan, Asin,
  Acos, Atan, Sinh, Cosh, Tanh, Sigmoid, Relu, Gelu, GeluTanh, Silu, Softplus, Erf, Erfc, Floor,
  Ceil, Round, Trunc, Frac, Reciprocal, Square, IsNan, IsInf, IsFinite, LogicalNot, BitwiseNot,
  Count
};
enum class BinaryOp : int {
  Add, Sub, Mul, Div, FloorDiv, TruncDiv, Remainder, Pow, Maximum, Minimum, Fmod, Atan2,
  Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr, LogicalXor,
  BitwiseAnd, BitwiseOr, BitwiseXor, Shl, Shr,
  // fused activation backward (a = upstream gradient, b = the saved input x or output y); float only
  GeluBackward, GeluTanhBackward, SiluBackward, TanhBackward, SigmoidBackward, ReluBackward, Count
};
inline bool binary_returns_bool(BinaryOp op) { return op >= BinaryOp::Eq && op <= BinaryOp::LogicalXor; }
inline bool unary_returns_bool(UnaryOp op) { return op >= UnaryOp::IsNan && op <= UnaryOp::LogicalNot; }

// Reduction op codes for the contiguous inner-loop kernels.
enum class ReduceOp : int { Sum, Prod, Max, Min, Count };

struct LineParams;  // ops/reduce.h

struct GemmArgs {  // C = alpha * A @ B + beta * C; any strides (in elements), A: MxK, B: KxN
  int64_t M, N, K;
  const void* A; int64_t rsa, csa;
  const void* B; int64_t rsb, csb;
  void* C; int64_t rsc, csc;
  double alpha, beta;
};

struct KernelTable {
  const char* isa = "generic";
  // elementwise loops, null where the (op, dtype) pair is not supported
  LoopFn unary[(int)UnaryOp::Count][kNumDTypes] = {};
  // binary loops keyed by the input dtype; comparison/logical ops write bool
  LoopFn binary[(int)BinaryOp::Count][kNumDTypes] = {};
  void (*sgemm)(const GemmArgs&) = nullptr;
  void (*dgemm)(const GemmArgs&) = nullptr;
  void (*softmax)(const LineParams&) = nullptr;  // fused softmax/log_softmax (cpu/isa/reduce.cpp)
  void (*reduce_row[8][kNumDTypes])(const void* x, int64_t n, double c, void* acc) = {};  // RowKind, ops/reduce.h
  void (*reduce_cols[8][kNumDTypes])(const void* x, int64_t s0, int64_t nr, int64_t w, void* acc) = {};
  // float32 row kernels of the fused layers (cpu/isa/rows.cpp); one contiguous row per call. `stream`:
  // write y / dx with streaming stores (prefetch.h output_streams; the caller calls stream_fence)
  double (*row_lse_f32)(const float* x, int64_t n) = nullptr;
  void (*row_scaled_exp_f32)(const float* x, int64_t n, float shift, float k, float* out) = nullptr;
  double (*row_softmax_scaled_f32)(const float* x, int64_t n, float k, float* out) = nullptr;  // returns lse
  void (*row_softmax_bwd_f32)(const float* g, const float* y, int64_t n, bool log, float* dx) = nullptr;
  void (*row_layer_norm_f32)(const float* x, int64_t n, const float* w, const float* b, double eps, bool rms,
                             double* mean, double* rstd, float* y, bool stream) = nullptr;
  void (*row_layer_norm_bwd_f32)(const float* g, const float* x, const float* w, int64_t n, double mu, double is,
                                 bool rms, float* aw, float* ab, float* dx, bool stream) = nullptr;
};

const KernelTable& kernels();        // the table of the current instruction set
const char* cpu_isa_name();          // "avx512", "avx2" or "generic"
int cpu_isa_index();                 // 0 generic, 1 avx2, 2 avx512 (indexes per-ISA tables)
// For tests: run the copies of the kernels for `name`, an instruction set this CPU supports
// (the best one is the default). Returns false, changing nothing, for any other name. Not safe
// while kernels run on other threads.
bool set_cpu_isa(const char* name);

namespace isa_generic { void register_kernels(KernelTable&); }
namespace isa_avx2 { void register_kernels(KernelTable&); }
namespace isa_avx512 { void register_kernels(KernelTable&); }

}  // namespace pyml
