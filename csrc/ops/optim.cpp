// Host entries of the fused optimizer step: validate everything, then one kernel call per tensor on
// CPU, or one launch for a whole list of tensors on CUDA (cuda/optim.cu).
#include "core/memory_format.h"
#include "ops/optim.h"
#include "cuda/optim.h"

namespace pyml {

namespace {
struct AlgoInfo { OptimStep::Algo algo; int min_state, max_state; };

AlgoInfo algo_info(const std::string& name) {
  if (name == "sgd") return {OptimStep::SGD, 0, 1};
  if (name == "adam") return {OptimStep::Adam, 2, 3};
  if (name == "adagrad") return {OptimStep::Adagrad, 1, 1};
  if (name == "rmsprop") return {OptimStep::RMSprop, 3, 3};
  if (name == "adamax") return {OptimStep::Adamax, 2, 2};
  if (name == "nadam") return {OptimStep::NAdam, 2, 2};
  if (name == "radam") return {OptimStep::RAdam, 2, 2};
  throw ValueError(cat_str("optim_step: unknown algorithm '", name,
                           "' (expected sgd, adam, adagrad, rmsprop, adamax, nadam or radam)"));
}

double get(const std::map<std::string, double>& hp, const char* key, double dflt) {
  auto it = hp.find(key);
  return it == hp.end() ? dflt : it->second;
}

void check_device(const Tensor& t, const Tensor& param, const char* what, const char* op) {
  PYML_CHECK(t.device() == param.device(), RuntimeError, op, ": expected all tensors to be on the same device, got ",
             param.device().str(), " and ", t.device().str(), " (", what, ")");
}

// Validates one parameter's tensors; returns its three state slots (undefined where absent).
// Both contiguous, or the same strides: the flat kernels then pair up the right elements
bool same_layout(const Tensor& a, const Tensor& b) {
  return (a.is_contiguous() && b.is_contiguous()) || a.strides == b.strides;
}

std::vector<Tensor> checked_state(const AlgoInfo& info, const std::string& algo, const Tensor& param,
                                  const Tensor& grad, const std::vector<Tensor>& state) {
  const char* op = "optim_step";
  PYML_CHECK(param.defined() && grad.defined(), ValueError, op, ": param and grad must be tensors");
  check_device(grad, param, "grad", op);
  PYML_CHECK(param.dtype == DType::Float32 || param.dtype == DType::Float64, TypeError, op,
             ": parameters must be float32 or float64, got ", dtype_name(param.dtype));
  PYML_CHECK(grad.dtype == param.dtype, TypeError, op, ": grad dtype must match the parameter dtype ",
             dtype_name(param.dtype), ", got ", dtype_name(grad.dtype));
  PYML_CHECK(grad.shape == param.shape, ValueError, op, ": grad shape must match the parameter shape ",
             param.shape, ", got ", grad.shape);
  PYML_CHECK(param.is_contiguous() || non_overlapping_dense(param), ValueError, op,
             ": parameters must be dense (contiguous or channels_last), got strides ", param.strides,
             " for shape ", param.shape);
  PYML_CHECK((int)state.size() >= info.min_state && (int)state.size() <= info.max_state, ValueError, op,
             ": ", algo, " takes ", info.min_state, " to ", info.max_state, " state tensors, got ", state.size());
  std::vector<Tensor> st;
  for (size_t k = 0; k < state.size(); k++) {
    const Tensor& s = state[k];
    if (!s.defined()) { st.push_back(s); continue; }
    check_device(s, param, "state", op);
    PYML_CHECK(s.dtype == param.dtype && s.shape == param.shape && same_layout(s, param), ValueError, op,
               ": state tensor ", k, " must be a ", dtype_name(param.dtype), " tensor of shape ", param.shape,
               " laid out as the parameter (strides ", param.strides, "), got ", dtype_name(s.dtype), " of shape ",
               s.shape, " and strides ", s.strides);
    PYML_CHECK(!overlaps(s, param) && !overlaps(s, grad), ValueError, op,
               ": state tensor ", k, " must not share memory with the parameter or gradient");
    for (size_t j = 0; j < k; j++)
      PYML_CHECK(!st[j].defined() || !overlaps(s, st[j]), ValueError, op, ": state tensors ", j, " and ", k,
                 " share memory");
    st.push_back(s);
  }
  while (st.size() < 3) st.push_back(Tensor{});
  PYML_CHECK(!overlaps(param, grad), ValueError, op, ": the gradient must not share memory with the parameter");
  // state layouts the kernel relies on
  if (info.algo == OptimStep::Adam || info.algo == OptimStep::Adamax || info.algo == OptimStep::NAdam ||
      info.algo == OptimStep::RAdam)
    PYML_CHECK(st[0].defined() && st[1].defined(), ValueError, op, ": ", algo, " needs its first two state tensors");
  if (info.algo == OptimStep::Adagrad || info.algo == OptimStep::RMSprop)
    PYML_CHECK(st[0].defined(), ValueError, op, ": ", algo, " needs its first state tensor");
  return st;
}

OptimStep step_of(const AlgoInfo& info, const std::map<std::string, double>& hp, const std::vector<Tensor>& st) {
  OptimStep o;
  o.algo = info.algo;
  o.maximize = get(hp, "maximize", 0) != 0;
  o.weight_decay = get(hp, "weight_decay", 0);
  o.decoupled = get(hp, "decoupled", 0) != 0;
  o.decay_factor = get(hp, "decay_factor", 1);
  o.lr = get(hp, "lr", 0);
  o.momentum = get(hp, "momentum", 0);
  o.dampening = get(hp, "dampening", 0);
  o.nesterov = get(hp, "nesterov", 0) != 0;
  o.first = get(hp, "first", 0) != 0;
  o.beta1 = get(hp, "beta1", 0);
  o.beta2 = get(hp, "beta2", 0);
  o.eps = get(hp, "eps", 0);
  o.step_size = get(hp, "step_size", 0);
  o.bc2_sqrt = get(hp, "bc2_sqrt", 1);
  o.amsgrad = st[2].defined() && info.algo == OptimStep::Adam;
  o.clr = get(hp, "clr", 0);
  o.mean_div = get(hp, "mean_div", 1);
  o.root_mean = get(hp, "root_mean", 0) != 0;
  o.alpha = get(hp, "alpha", 0);
  o.centered = st[2].defined() && info.algo == OptimStep::RMSprop;
  o.first_abs = get(hp, "first_abs", 0) != 0;
  o.c_grad = get(hp, "c_grad", 0);
  o.c_avg = get(hp, "c_avg", 0);
  o.bc2 = get(hp, "bc2", 1);
  o.bc1 = get(hp, "bc1", 1);
  o.rect = get(hp, "rect", 0);
  return o;
}

void run_cpu(const Tensor& param, const Tensor& g, const std::vector<Tensor>& st, const OptimStep& o) {
  int64_t n = param.numel();
  if (n == 0) return;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    auto sp = [](const Tensor& s) { return s.defined() ? s.ptr<T>() : (T*)nullptr; };
    optim_step_kernel<T>(param.ptr<T>(), g.ptr<T>(), sp(st[0]), sp(st[1]), sp(st[2]), n, o);
  };
  if (param.dtype == DType::Float32) run(float{}); else run(double{});
}

OptimTensorPtrs ptrs_of(const Tensor& param, const Tensor& g, const std::vector<Tensor>& st) {
  OptimTensorPtrs t{param.data(), g.data(), {nullptr, nullptr, nullptr}, param.numel()};
  for (int k = 0; k < 3; k++) t.s[k] = st[k].defined() ? st[k].data() : nullptr;
  return t;
}

void bump(const Tensor& param, const std::vector<Tensor>& st) {
  param.bump_version();
  for (auto& s : st) if (s.defined()) s.bump_version();
}
}  // namespace

// The kernels walk param, grad and state as flat arrays: a gradient in another layout is copied
// into the parameter's (a channels_last weight's optimizer runs over its channels_last memory).
static Tensor grad_as_param(const Tensor& grad, const Tensor& param) {
  if (same_layout(grad, param)) return grad;
  Tensor g = empty_strided(param.shape, param.strides, param.dtype, param.device());
  copy_(g, grad, "optim_step");
  return g;
}

void optim_step(const std::string& algo, const Tensor& param, const Tensor& grad,
                const std::vector<Tensor>& state, const std::map<std::string, double>& hp) {
  AlgoInfo info = algo_info(algo);
  std::vector<Tensor> st = checked_state(info, algo, param, grad, state);
  OptimStep o = step_of(info, hp, st);
  Tensor g = grad_as_param(grad, param);
  if (param.numel() == 0) return;
  if (param.device().is_cpu()) run_cpu(param, g, st, o);
  else optim_step_cuda(o, param.dtype, {ptrs_of(param, g, st)}, param.device().index);
  bump(param, st);
}

void optim_step_multi(const std::string& algo, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                      const std::vector<std::vector<Tensor>>& states, const std::map<std::string, double>& hp) {
  const char* op = "optim_step_multi";
  AlgoInfo info = algo_info(algo);
  PYML_CHECK(params.size() == grads.size() && params.size() == states.size(), ValueError, op,
             ": expected as many grads and state lists as params, got ", params.size(), " params, ", grads.size(),
             " grads and ", states.size(), " state lists");
  if (params.empty()) return;
  std::vector<std::vector<Tensor>> st;
  std::vector<Tensor> gs;
  for (size_t i = 0; i < params.size(); i++) {
    st.push_back(checked_state(info, algo, params[i], grads[i], states[i]));
    gs.push_back(grad_as_param(grads[i], params[i]));
    check_device(params[i], params[0], "params", op);
    PYML_CHECK(params[i].dtype == params[0].dtype, TypeError, op, ": all parameters must have one dtype, got ",
               dtype_name(params[0].dtype), " and ", dtype_name(params[i].dtype));
    for (int k = 0; k < 3; k++)
      PYML_CHECK(st[i][k].defined() == st[0][k].defined(), ValueError, op, ": every parameter must have the same "
                 "state tensors; state ", k, " is ", st[0][k].defined() ? "given" : "None", " for param 0 but ",
                 st[i][k].defined() ? "given" : "None", " for param ", i);
  }
  for (size_t i = 0; i < params.size(); i++)  // one launch updates them all at once: no shared memory
    for (size_t j = 0; j < i; j++)
      PYML_CHECK(!overlaps(params[i], params[j]), ValueError, op, ": params ", j, " and ", i, " share memory");
  OptimStep o = step_of(info, hp, st[0]);
  if (params[0].device().is_cpu()) {
    for (size_t i = 0; i < params.size(); i++) run_cpu(params[i], gs[i], st[i], o);
  } else {
    std::vector<OptimTensorPtrs> list;
    for (size_t i = 0; i < params.size(); i++) list.push_back(ptrs_of(params[i], gs[i], st[i]));
    optim_step_cuda(o, params[0].dtype, list, params[0].device().index);
  }
  for (size_t i = 0; i < params.size(); i++) bump(params[i], st[i]);
}

}  // namespace pyml
