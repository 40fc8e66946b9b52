// pybind11 glue for pyml._C: thin, no logic. One bind_* per op family, each in its own file.
#pragma once
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include "ops/ops.h"

namespace py = pybind11;

namespace pyml {
void bind_tensor(py::module_& m);       // TensorImpl, numpy interop, copies, views, info
void bind_elementwise(py::module_& m);  // unary/binary ops
void bind_reduce(py::module_& m);       // reductions, scans, sort family, softmax
void bind_index(py::module_& m);        // indexing, gather/scatter, cat/stack/pad/... layout ops
void bind_linalg(py::module_& m);       // matmul family
void bind_random(py::module_& m);       // generators and random creation
void bind_interop(py::module_& m);      // DLPack
void bind_cuda(py::module_& m);         // device queries
void bind_conv(py::module_& m);         // conv, pooling, unfold/fold, interpolate, grid_sample
void bind_norm(py::module_& m);         // batch/layer/group norm, cross-entropy, embedding
void bind_attention(py::module_& m);    // scaled dot-product attention
void bind_optim(py::module_& m);        // fused optimizer steps
void bind_fft(py::module_& m);          // complex views, FFT

// Python number -> Scalar (bool before int: bool is an int subclass in Python)
Scalar to_scalar(py::handle h, const char* op);
}  // namespace pyml
