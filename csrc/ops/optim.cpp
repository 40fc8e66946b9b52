// Host entry of the fused optimizer step: validates everything, then one kernel call.
#include "ops/optim.h"

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
}  // namespace

void optim_step(const std::string& algo, const Tensor& param, const Tensor& grad,
                const std::vector<Tensor>& state, const std::map<std::string, double>& hp) {
  const char* op = "optim_step";
  AlgoInfo info = algo_info(algo);
  PYML_CHECK(param.defined() && grad.defined(), ValueError, op, ": param and grad must be tensors");
  check_cpu(param, op);
  check_cpu(grad, op);
  PYML_CHECK(param.dtype == DType::Float32 || param.dtype == DType::Float64, TypeError, op,
             ": parameters must be float32 or float64, got ", dtype_name(param.dtype));
  PYML_CHECK(grad.dtype == param.dtype, TypeError, op, ": grad dtype must match the parameter dtype ",
             dtype_name(param.dtype), ", got ", dtype_name(grad.dtype));
  PYML_CHECK(grad.shape == param.shape, ValueError, op, ": grad shape must match the parameter shape ",
             param.shape, ", got ", grad.shape);
  PYML_CHECK(param.is_contiguous(), ValueError, op, ": parameters must be contiguous, got strides ",
             param.strides, " for shape ", param.shape);
  PYML_CHECK((int)state.size() >= info.min_state && (int)state.size() <= info.max_state, ValueError, op,
             ": ", algo, " takes ", info.min_state, " to ", info.max_state, " state tensors, got ", state.size());
  std::vector<Tensor> st;
  for (size_t k = 0; k < state.size(); k++) {
    const Tensor& s = state[k];
    if (!s.defined()) { st.push_back(s); continue; }
    check_cpu(s, op);
    PYML_CHECK(s.dtype == param.dtype && s.shape == param.shape && s.is_contiguous(), ValueError, op,
               ": state tensor ", k, " must be a contiguous ", dtype_name(param.dtype), " tensor of shape ",
               param.shape, ", got ", dtype_name(s.dtype), " of shape ", s.shape);
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

  Tensor g = contiguous(grad);
  int64_t n = param.numel();
  if (n == 0) return;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    auto sp = [](const Tensor& s) { return s.defined() ? s.ptr<T>() : (T*)nullptr; };
    optim_step_kernel<T>(param.ptr<T>(), g.ptr<T>(), sp(st[0]), sp(st[1]), sp(st[2]), n, o);
  };
  if (param.dtype == DType::Float32) run(float{}); else run(double{});
  param.bump_version();
  for (auto& s : st) if (s.defined()) s.bump_version();
}

}  // namespace pyml
