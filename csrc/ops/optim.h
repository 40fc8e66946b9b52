// Fused optimizer steps: host entry (ops/optim.cpp) and the interface of the CPU kernel
// (cpu/optim.cpp). One call updates one parameter tensor and its state tensors in place,
// elementwise, in the parameter's dtype (float32 or float64). The Python layer (pyml/optim)
// computes the per-step scalar coefficients (bias corrections, decayed learning rates) exactly
// like torch.optim's single-tensor code and passes them in OptimStep.
#pragma once
#include <map>
#include <string>
#include <vector>
#include "core/parallel.h"
#include "ops/ops.h"

namespace pyml {

struct OptimStep {
  enum Algo : int { SGD, Adam, Adagrad, RMSprop, Adamax, NAdam, RAdam } algo = SGD;
  bool maximize = false;
  double weight_decay = 0;   // L2: grad += wd * param (when not decoupled)
  double decay_factor = 1;   // decoupled (AdamW-style): param *= decay_factor before the update
  bool decoupled = false;
  // SGD
  double lr = 0, momentum = 0, dampening = 0;
  bool nesterov = false, first = false;  // first: momentum buffer starts as the gradient
  // Adam family / RMSprop
  double beta1 = 0, beta2 = 0, eps = 0, step_size = 0, bc2_sqrt = 1;
  bool amsgrad = false;
  // Adagrad: clr (decayed lr); root_mean: denominator sqrt(sum / mean_div) without eps
  double clr = 0, mean_div = 1;
  bool root_mean = false;
  // RMSprop: alpha; centered; first_abs: square_avg starts at g^2 on the first step
  double alpha = 0;
  bool centered = false, first_abs = false;
  // NAdam: two addcdiv coefficients; bc2 = 1 - beta2^t (also RAdam)
  double c_grad = 0, c_avg = 0, bc2 = 1;
  // RAdam: bc1, rect (<= 0: unrectified step)
  double bc1 = 1, rect = 0;
};

// Host entry: validates param/grad/state (one device, float32/float64, same shape and dtype, param
// and state contiguous and writable) and runs one fused step. `hp` holds the OptimStep fields by name.
void optim_step(const std::string& algo, const Tensor& param, const Tensor& grad,
                const std::vector<Tensor>& state, const std::map<std::string, double>& hp);
// The same step with the same hyper-parameters for a list of parameters (states[i] belongs to
// params[i]); all on one device with one dtype and the same state tensors defined. On CUDA the
// whole list is updated by one kernel launch (per 48 tensors); on CPU it loops optim_step's kernel.
void optim_step_multi(const std::string& algo, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                      const std::vector<std::vector<Tensor>>& states, const std::map<std::string, double>& hp);

// CPU kernel (cpu/optim.cpp): n elements, state pointers as the algorithm needs them
// (SGD: s0 = momentum buffer or null; Adam: exp_avg, exp_avg_sq, max_exp_avg_sq or null;
// Adagrad: sum; RMSprop: square_avg, momentum buffer or null, grad_avg or null;
// Adamax: exp_avg, exp_inf; NAdam/RAdam: exp_avg, exp_avg_sq).
template <typename T>
void optim_step_kernel(T* p, const T* g, T* s0, T* s1, T* s2, int64_t n, const OptimStep& o);

}  // namespace pyml
