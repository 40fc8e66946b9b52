// Generators and random ops. `generator=None` arrives as a null GeneratorPtr: the default one of
// the tensor's device. Devices travel as (type, index) pairs: (0, 0) cpu, (1, i) cuda:i.
#include "bindings/bind.h"
#include "ops/random.h"

namespace pyml {

void bind_random(py::module_& m) {
  auto device_of = [](std::pair<int, int> d) { return Device{(Device::Type)d.first, (int8_t)d.second}; };
  py::class_<Generator, GeneratorPtr>(m, "Generator")
      .def(py::init<>())
      .def(py::init([=](std::pair<int, int> d) { return make_generator(device_of(d)); }), py::arg("device"))
      .def("device", [](const Generator& g) { return std::pair<int, int>{(int)g.device().type, (int)g.device().index}; })
      .def("manual_seed", &Generator::manual_seed)
      .def("seed", &Generator::seed)
      .def("initial_seed", &Generator::initial_seed)
      .def("offset", &Generator::offset)
      .def("set_state", &Generator::set_state);
  m.def("default_generator", &default_generator);
  m.def("cuda_default_generator", &cuda_default_generator, py::arg("index"));
  auto gen = py::arg("generator") = GeneratorPtr();

  m.def("uniform_", [](const Tensor& t, double a, double b, GeneratorPtr g) { uniform_(t, a, b, g.get()); },
        py::arg("t"), py::arg("from"), py::arg("to"), gen);
  m.def("normal_", [](const Tensor& t, double mean, double std, GeneratorPtr g) { normal_(t, mean, std, g.get()); },
        py::arg("t"), py::arg("mean"), py::arg("std"), gen);
  m.def("exponential_", [](const Tensor& t, double l, GeneratorPtr g) { exponential_(t, l, g.get()); },
        py::arg("t"), py::arg("lambd"), gen);
  m.def("random_", [](const Tensor& t, int64_t from, std::optional<int64_t> to, GeneratorPtr g) {
    random_(t, from, to, g.get());
  }, py::arg("t"), py::arg("from"), py::arg("to"), gen);
  m.def("bernoulli_", [](const Tensor& t, const Tensor& p, GeneratorPtr g) { bernoulli_(t, p, g.get()); },
        py::arg("t"), py::arg("p"), gen);
  m.def("bernoulli_scalar_", [](const Tensor& t, double p, GeneratorPtr g) { bernoulli_scalar_(t, p, g.get()); },
        py::arg("t"), py::arg("p"), gen);
  m.def("bernoulli", [](const Tensor& p, GeneratorPtr g) { return bernoulli(p, g.get()); }, py::arg("p"), gen);
  m.def("normal", [](const Tensor& mean, const Tensor& std, GeneratorPtr g) { return normal(mean, std, g.get()); },
        py::arg("mean"), py::arg("std"), gen);
  m.def("multinomial", [](const Tensor& w, int64_t n, bool replacement, GeneratorPtr g) {
    return multinomial(w, n, replacement, g.get());
  }, py::arg("w"), py::arg("num_samples"), py::arg("replacement"), gen);
  m.def("randperm", [=](int64_t n, int dtype, GeneratorPtr g, std::pair<int, int> d) {
    return randperm(n, (DType)dtype, g.get(), device_of(d));
  }, py::arg("n"), py::arg("dtype"), gen, py::arg("device") = std::pair<int, int>{0, 0});
  // Known-answer hook for the tests: the raw Philox4x32-10 block of (counter words, key words).
  m.def("philox4x32_10", [](std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
    Philox4 r = philox4x32_10({{c[0], c[1], c[2], c[3]}}, k[0], k[1]);
    return std::array<uint32_t, 4>{r.w[0], r.w[1], r.w[2], r.w[3]};
  });
}

}  // namespace pyml
