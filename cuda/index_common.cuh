// Device helpers shared by the indexing, scatter and layout kernels: pure data movement dispatched
// on the item size only (one instantiation per 1/2/4/8 bytes, like the CPU kernels), the
// first-bad-position record behind the IndexError of the index checks, and atomic read-modify-
// write for every dtype: native atomicAdd where the hardware has one (int32, int64, float, double,
// __half from sm_70, __nv_bfloat16 from sm_80), else a compare-and-swap loop on the aligned word
// that holds the element (1- and 2-byte types update their bytes inside a 32-bit word).
#pragma once
#include <cstring>
#include "elementwise_launch.cuh"

namespace pyml {
namespace cuda {

// f(T{}) with T a plain type of `itemsize` bytes (16: complex128, moved as a uint4)
template <typename F> void by_itemsize(int64_t itemsize, F f) {
  switch (itemsize) {
    case 1: f(uint8_t{}); break;
    case 2: f(uint16_t{}); break;
    case 4: f(uint32_t{}); break;
    case 8: f(uint64_t{}); break;
    default: f(uint4{}); break;
  }
}

// *bad = min(*bad, pos). Positions are >= 0 and the slot starts at INT64_MAX, so the unsigned
// compare of atomicMin orders them correctly.
__device__ inline void record_bad(int64_t* bad, int64_t pos) {
  atomicMin(reinterpret_cast<unsigned long long*>(bad), static_cast<unsigned long long>(pos));
}

template <typename To, typename From> __device__ inline To bits_as(From v) {
  static_assert(sizeof(To) == sizeof(From), "bits_as: sizes differ");
  To r;
  memcpy(&r, &v, sizeof(To));
  return r;
}

template <int Bytes> struct UIntOf;
template <> struct UIntOf<1> { using type = uint8_t; };
template <> struct UIntOf<2> { using type = uint16_t; };
template <> struct UIntOf<4> { using type = unsigned int; };
template <> struct UIntOf<8> { using type = unsigned long long; };

// *addr = f(*addr) atomically; f must be a pure function of the old value (it may run several times).
template <typename T, typename F> __device__ inline void atomic_update(T* addr, F f) {
  if constexpr (sizeof(T) >= 4) {
    using W = typename UIntOf<sizeof(T)>::type;
    W* w = reinterpret_cast<W*>(addr);
    W old = *w, assumed;
    do {
      assumed = old;
      old = atomicCAS(w, assumed, bits_as<W>(f(bits_as<T>(assumed))));
    } while (old != assumed);
  } else {
    using U = typename UIntOf<sizeof(T)>::type;
    uintptr_t a = reinterpret_cast<uintptr_t>(addr);
    unsigned int* w = reinterpret_cast<unsigned int*>(a & ~uintptr_t(3));
    unsigned int shift = (unsigned int)(a & 3) * 8;  // little-endian: byte k of the word is bits 8k..8k+7
    unsigned int mask = ((1u << (8 * sizeof(T))) - 1u) << shift;
    unsigned int old = *w, assumed;
    do {
      assumed = old;
      T cur = bits_as<T>(static_cast<U>((assumed & mask) >> shift));
      unsigned int nv = static_cast<unsigned int>(bits_as<U>(f(cur))) << shift;
      old = atomicCAS(w, assumed, (assumed & ~mask) | (nv & mask));
    } while (old != assumed);
  }
}

// *addr += v with the CPU kernels' arithmetic: d = T(acc(d) + acc(v)) (bool: or; small ints wrap).
template <typename T> __device__ inline void atomic_add(T* addr, T v) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int32_t>) {
    atomicAdd(addr, v);
  } else if constexpr (std::is_same_v<T, int64_t>) {  // two's complement: unsigned adds wrap the same way
    atomicAdd(reinterpret_cast<unsigned long long*>(addr), static_cast<unsigned long long>(v));
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 700
  } else if constexpr (std::is_same_v<T, __half>) {
    atomicAdd(addr, v);
#endif
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    atomicAdd(addr, v);
#endif
  } else {
    using A = acc_t<T>;
    atomic_update(addr, [v](T d) { return convert<T>(convert<A>(d) + convert<A>(v)); });
  }
}

}  // namespace cuda
}  // namespace pyml
