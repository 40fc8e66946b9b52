// Memory formats: the order of a fresh tensor's dims in memory (torch.contiguous_format,
// channels_last, channels_last_3d, preserve_format). A channels_last (N, C, H, W) tensor keeps its
// logical shape with strides (HWC, 1, WC, C); the engine's strided kernels read any layout, and
// ops that keep a layout (elementwise, norms, pooling, conv) allocate their outputs through here.
#pragma once
#include <initializer_list>
#include "core/tensor.h"

namespace pyml {

enum class MemoryFormat : int { Contiguous = 0, ChannelsLast = 1, ChannelsLast3d = 2, Preserve = 3 };

// Strides of a fresh `shape` tensor in format f (Contiguous, ChannelsLast for 4-D, ChannelsLast3d
// for 5-D; a rank mismatch raises ValueError naming op).
Shape format_strides(const Shape& shape, MemoryFormat f, const char* op);
// Whether t's strides are exactly those of f (size-1 dims may have any stride).
bool is_contiguous_as(const Tensor& t, MemoryFormat f);
// The format t's strides suggest: channels_last(_3d) when the channels are innermost in memory,
// else Contiguous (torch's suggest_memory_format).
MemoryFormat suggest_format(const Tensor& t);
// Every element at its own address, the addresses filling one block with no gaps.
bool non_overlapping_dense(const Tensor& t);
// Strides torch's preserve_format gives a copy of t: t's own when t is dense and non-overlapping,
// else a dense layout in t's dim order (a sliced channels_last tensor copies to channels_last).
Shape preserve_strides(const Tensor& t);
// Strides of a fresh tensor like t in format f: preserve_strides or format_strides.
Shape like_strides(const Tensor& t, MemoryFormat f, const char* op);
// A fresh tensor with the given strides (a permutation of a contiguous layout's).
Tensor empty_strided(const Shape& shape, const Shape& strides, DType dtype, Device dev);
// Strides for the fresh output of an elementwise op over ins (broadcast to shape): the inputs'
// dim order, decided by the first input whose strides tell two dims apart (broadcast dims skipped),
// so channels_last in gives channels_last out, as in torch.
Shape elementwise_strides(const Shape& shape, std::initializer_list<const Tensor*> ins);
Tensor empty_for(const Shape& shape, DType dtype, Device dev, std::initializer_list<const Tensor*> ins);

// --- copies into a format (defined with the other copies in ops/copy.cpp)
// A copy of t in format f (Preserve: torch's preserve_format rule), dtype and device: the user's
// clone(memory_format=), contiguous(memory_format=) and to(..., memory_format=)
Tensor clone_format(const Tensor& t, MemoryFormat f, DType dtype, Device dev, const char* op);
// y itself when f is Contiguous/Preserve or y is already in f, else a copy of y in f
Tensor to_format(const Tensor& y, MemoryFormat f);
// t in dtype dt laid out in format f (Contiguous: contiguous): t itself when it already is, else
// one copy that converts both (kernels that read a layout in their compute dtype)
Tensor to_dtype_format(const Tensor& t, DType dt, MemoryFormat f, const char* op);
// A kernel's flat output buffer as a `shape` tensor of dtype: laid out in f as the kernel wrote it
// (a channels_last kernel), or with f Contiguous contiguous and then in like's format (one copy
// for a channels_last like): ops whose outputs follow their input's layout, as in torch
Tensor kernel_result(const Tensor& buf, const Shape& shape, DType dtype, MemoryFormat f, const Tensor& like);
// y (same rank as like) in the format like's strides suggest: for ops whose kernels write contiguous
// results but whose outputs follow a channels_last input, as in torch
Tensor to_format_of(const Tensor& y, const Tensor& like);

}  // namespace pyml
