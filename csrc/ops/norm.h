// Fused normalisation layers, cross-entropy and embedding: host entries (ops/norm.cpp, ops/loss.cpp,
// ops/embedding.cpp) and the interface of their CPU kernels (cpu/norm.cpp, cpu/loss.cpp,
// cpu/embedding.cpp). Host entries validate, cast float16/bfloat16 to float32, make inputs
// contiguous and fill the *Params below; kernels take float32/float64 raw pointers (T = float or
// double, accumulating in double) and never check user input. Every backward is one kernel that
// returns all gradients that were asked for (a null pointer means "not needed").
#pragma once
#include <optional>
#include <string>
#include <tuple>
#include <vector>
#include "core/parallel.h"
#include "ops/ops.h"

namespace pyml {

using OptTensor = std::optional<Tensor>;

// ------------------------------------------------------------------------- host entries
// shared checks (ops/norm.cpp): floating input -> kernel dtype (float32 or float64); same device
DType norm_compute_dtype(const Tensor& x, const char* op, const char* what);
Tensor norm_prep(const Tensor& t, DType ct);  // cast + contiguous (no copy when already so)

// batch_norm: x (N, C, *). Returns (y, mean, invstd): the float64 statistics backward needs (batch
// stats in training, running stats in eval). Training updates running_mean/var in place when given, with
// running = (1 - momentum) * running + momentum * stat (unbiased variance for running_var).
std::tuple<Tensor, Tensor, Tensor> batch_norm_forward(const Tensor& x, const OptTensor& w, const OptTensor& b,
                                                      const OptTensor& running_mean, const OptTensor& running_var,
                                                      bool training, double momentum, double eps);
// (dx, dw, db); an output not asked for is returned undefined (None in Python)
std::tuple<OptTensor, OptTensor, OptTensor> batch_norm_backward(const Tensor& dy, const Tensor& x, const OptTensor& w,
                                                                const Tensor& mean, const Tensor& invstd,
                                                                bool training, std::vector<bool> need);

// layer_norm / rms_norm: x (..., *normalized_shape). Returns (y, mean, rstd), float64 of shape
// x.shape[:-len(normalized_shape)] (mean is zeros for rms_norm).
std::tuple<Tensor, Tensor, Tensor> layer_norm_forward(const Tensor& x, const Shape& normalized_shape,
                                                      const OptTensor& w, const OptTensor& b, double eps,
                                                      bool rms, const char* op);
std::tuple<OptTensor, OptTensor, OptTensor> layer_norm_backward(const Tensor& dy, const Tensor& x, const OptTensor& w,
                                                                const Tensor& mean, const Tensor& rstd,
                                                                int64_t norm_ndim, bool rms, std::vector<bool> need);

// group_norm: x (N, C, *), G groups. Returns (y, mean, rstd, var) with float64 stats of shape (N, G);
// var is the biased variance (instance_norm's running stats use it).
std::tuple<Tensor, Tensor, Tensor, Tensor> group_norm_forward(const Tensor& x, int64_t groups, const OptTensor& w,
                                                              const OptTensor& b, double eps, const char* op);
std::tuple<OptTensor, OptTensor, OptTensor> group_norm_backward(const Tensor& dy, const Tensor& x, const OptTensor& w,
                                                                const Tensor& mean, const Tensor& rstd,
                                                                int64_t groups, std::vector<bool> need);

// cross_entropy: input (N, C, *) or (C,); target class indices (N, *) / () or probabilities shaped
// like input. reduction: 0 none, 1 mean, 2 sum. Returns (loss, lse, denom): lse is the per-row
// log-sum-exp saved for backward, denom the mean's divisor (0-dim, float64).
std::tuple<Tensor, Tensor, Tensor> cross_entropy_forward(const Tensor& input, const Tensor& target,
                                                         const OptTensor& weight, int64_t reduction,
                                                         int64_t ignore_index, double label_smoothing);
// cross_entropy_forward and, from the same pass over the input (CPU, reduction mean or sum), the input
// gradient for dloss = 1: returns (loss, lse, denom, dinput), dinput in the input's dtype
std::tuple<Tensor, Tensor, Tensor, Tensor> cross_entropy_forward_grad(const Tensor& input, const Tensor& target,
                                                                      const OptTensor& weight, int64_t reduction,
                                                                      int64_t ignore_index, double label_smoothing);
// (dinput, dtarget) for the gradient dloss of the forward's loss
std::tuple<OptTensor, OptTensor> cross_entropy_backward(const Tensor& dloss, const Tensor& input, const Tensor& target,
                                                        const OptTensor& weight, const Tensor& lse, const Tensor& denom,
                                                        int64_t reduction, int64_t ignore_index,
                                                        double label_smoothing, std::vector<bool> need);

// embedding: weight (V, D), indices int32/int64 of any shape -> (*indices.shape, D)
Tensor embedding_forward(const Tensor& weight, const Tensor& indices, int64_t padding_idx);
Tensor embedding_backward(const Tensor& dout, const Tensor& indices, int64_t num_weights, int64_t padding_idx,
                          bool scale_grad_by_freq);
// rows of weight named in indices with p-norm > max_norm are scaled to max_norm (in place)
void embedding_renorm_(const Tensor& weight, const Tensor& indices, double max_norm, double norm_type);
// embedding_bag: mode 0 sum, 1 mean, 2 max. indices 1-D with offsets, or 2-D (B, L).
// Returns (out (B, D), offsets2 (B+1,) normalised offsets, max_idx (B, D) int64 for mode max).
std::tuple<Tensor, Tensor, Tensor> embedding_bag_forward(const Tensor& weight, const Tensor& indices,
                                                         const OptTensor& offsets, int64_t mode,
                                                         const OptTensor& per_sample_weights,
                                                         bool include_last_offset, int64_t padding_idx);
// (dweight, dper_sample_weights)
std::tuple<OptTensor, OptTensor> embedding_bag_backward(const Tensor& dout, const Tensor& weight, const Tensor& indices,
                                                        const Tensor& offsets2, const Tensor& max_idx, int64_t mode,
                                                        const OptTensor& per_sample_weights, int64_t padding_idx,
                                                        bool scale_grad_by_freq, std::vector<bool> need);

// ------------------------------------------------------------------------- kernel interface
// Data pointers are to T (float or double, `dtype`); statistics arrays are double.
struct BatchNormParams {
  DType dtype;
  int64_t N, C, S;             // x viewed as (N, C, S) contiguous
  const void* x; void* y;
  const void* w; const void* b;  // (C,) or null
  double* mean; double* invstd;  // (C,): written in training, read in eval
  double* var;                   // (C,) biased batch variance, written in training
  double eps;
  bool training;
  bool cl = false;  // CUDA only: x, y, dy, dx channels_last, (N, S, C) in memory
};
void batch_norm_forward_cpu(const BatchNormParams& p);
// dy, x as x; dx/dw/db may be null. mean/invstd as saved by forward.
void batch_norm_backward_cpu(const BatchNormParams& p, const void* dy, void* dx, void* dw, void* db);

struct RowNormParams {        // layer_norm/rms_norm rows (M, K); group_norm rows (N*G, (C/G)*S)
  DType dtype;
  int64_t M, K;
  const void* x; void* y;
  const void* w; const void* b;  // layer_norm: (K,); group_norm: (C,) per channel
  double* mean; double* rstd;    // (M,)
  double* var;                   // (M,) biased variance, optional (group_norm)
  double eps;
  bool rms;
  int64_t C, G, S;               // group_norm geometry (G = 0 for layer_norm)
  bool cl = false;               // CUDA group_norm only: x, y, dy, dx channels_last, (N, S, C) in memory
};
void layer_norm_forward_cpu(const RowNormParams& p);
void layer_norm_backward_cpu(const RowNormParams& p, const void* dy, void* dx, void* dw, void* db);
void group_norm_forward_cpu(const RowNormParams& p);
void group_norm_backward_cpu(const RowNormParams& p, const void* dy, void* dx, void* dw, void* db);

struct CrossEntropyParams {
  DType dtype;
  int64_t N, C, S;              // input viewed as (N, C, S) contiguous; rows r = n*S + s
  const void* x;
  const int64_t* target;        // (N*S,) class indices, or null for probability targets
  const void* prob;             // (N, C, S) probabilities, or null
  const void* w;                // (C,) class weights, or null
  int64_t ignore_index;
  double smoothing;
  void* lse;                    // (N*S,) log-sum-exp per row (written by forward)
};
// loss_rows (N*S,) T; returns {sum of losses, sum of weights of the counted rows} in double. With dx
// (N, C, S) T, also the input gradient for a unit gradient of the mean (mean) or sum of the losses.
std::pair<double, double> cross_entropy_forward_cpu(const CrossEntropyParams& p, void* loss_rows, void* dx = nullptr,
                                                    bool mean = false);
// dloss: per-row (N*S,) T when dloss_rows is given, else the scalar `scale` for every row
void cross_entropy_backward_cpu(const CrossEntropyParams& p, const void* dloss_rows, double scale,
                                void* dx, void* dprob);

// embedding kernels: idx int64 (n,) validated in range; rows of D elements
void embedding_forward_cpu(const void* weight, int64_t itemsize, int64_t D, const int64_t* idx, int64_t n, void* out);
void embedding_backward_cpu(DType dtype, const void* dout, int64_t D, const int64_t* idx, int64_t n, int64_t V,
                            int64_t padding_idx, bool scale_by_freq, void* dw);
void embedding_renorm_cpu(DType dtype, void* w, int64_t D, const int64_t* rows, int64_t nrows, double max_norm,
                          double p);

struct EmbeddingBagParams {
  DType dtype;
  int64_t V, D, B, n;            // weight (V, D); n indices in B bags
  const void* w;
  const int64_t* idx;            // (n,)
  const int64_t* offsets;        // (B+1,), offsets[B] = n
  const void* psw;               // (n,) per-sample weights (sum) or null
  int64_t mode, padding_idx;     // padding_idx = -1 when none
};
void embedding_bag_forward_cpu(const EmbeddingBagParams& p, void* out, int64_t* max_idx);
void embedding_bag_backward_cpu(const EmbeddingBagParams& p, const void* dout, const int64_t* max_idx,
                                bool scale_by_freq, void* dw, void* dpsw);

// Split [0, n) into a fixed number of chunks (at most 64, each of at least `grain` items) that
// depends only on n, so per-chunk partial sums combine in the same order on any thread count;
// f(chunk, begin, end). max_chunks(n, grain) is that number (size partial buffers with it).
inline int64_t max_chunks(int64_t n, int64_t grain) {
  return std::max<int64_t>(1, std::min<int64_t>(64, (n + grain - 1) / std::max<int64_t>(grain, 1)));
}
template <typename F> int64_t for_chunks(int64_t n, int64_t grain, const F& f) {
  int64_t nc = max_chunks(n, grain);
  parallel_for(0, nc, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; c++) f(c, c * n / nc, (c + 1) * n / nc);
  });
  return nc;
}

}  // namespace pyml
