// Self-test of the emulated Hopper primitives in cuda/wgmma.cuh against the hardware layouts as the
// PTX ISA / CUDA guide state them, written here in their logical form (independent of the address-
// bit arithmetic the emulator uses): TMA's 128B swizzle puts the 16-byte chunk c of box row r at
// chunk c ^ (r % 8) of that 128-byte row; wgmma's D fragment is d[i] = D[16w + l/4 + 8((i%4)/2)]
// [8(i/4) + 2(l%4) + i%2]. Build and run (after build.sh):
//   g++ -std=c++17 -O1 -DPYML_WITH_CUDA=1 -DPYML_CUDA_EMU=1 -Itools/cuda_emu -Icsrc -I. -Icuda \
//     -isystem /usr/local/cuda/targets/x86_64-linux/include tools/cuda_emu/selftest_wgmma.cpp \
//     build/emu/obj/emu.o -o /tmp/selftest_wgmma && /tmp/selftest_wgmma
#include "prelude.h"
#include <cstdio>
#include <vector>
#include "wgmma.cuh"

using namespace pyml::cuda;
static int failures = 0;
#define CHECK(c, ...) do { if (!(c)) { if (failures++ < 10) std::printf(__VA_ARGS__); } } while (0)

static uint16_t bits(float v) { return (uint16_t)(__float_as_uint(v) >> 16); }  // exact for small ints
// Byte offset of element (r, e) (16-bit elements, 64 per 128-byte row) in a 128B-swizzled tile.
static int swizzled(int r, int e) { return r * 128 + (((e / 8) ^ (r % 8)) * 16) + (e % 8) * 2; }

// 1 thread: a 70 x 64 bf16 matrix, box 64 x 80 at row 8: rows past 70 arrive as zeros.
static void tma_kernel(const CUtensorMap* map, int* ok) {
  unsigned char* s = ::emu::dynamic_smem();
  uint64_t* bar = reinterpret_cast<uint64_t*>(s + 16384);
  wg::mbar_init(bar, 1);
  wg::mbar_arrive_expect_tx(bar, 64 * 80 * 2);
  wg::tma_load_2d(s, map, bar, 0, 8);
  *ok = wg::mbar_try_wait(bar, 0);
  for (int r = 0; r < 80; r++)
    for (int e = 0; e < 64; e++) {
      uint16_t v;
      std::memcpy(&v, s + swizzled(r, e), 2);
      const uint16_t want = r + 8 < 70 ? bits((float)((r + 8) % 7 * 64 + e % 13)) : 0;
      CHECK(v == want, "tma: row %d elem %d got %04x want %04x\n", r, e, v, want);
    }
}

// 128 threads: A 64 x 16 K-major, B 16 x 256 N-major (4 boxes of 64 N x 16 K rows), D = A B.
static void wgmma_kernel(const float* A, const float* B) {
  unsigned char* s = ::emu::dynamic_smem();
  if (threadIdx.x == 0) {
    for (int m = 0; m < 64; m++)
      for (int k = 0; k < 16; k++) { uint16_t v = bits(A[m * 16 + k]); std::memcpy(s + swizzled(m, k), &v, 2); }
    for (int k = 0; k < 16; k++)
      for (int n = 0; n < 256; n++) { uint16_t v = bits(B[k * 256 + n]); std::memcpy(s + 8192 + (n / 64) * 8192 + swizzled(k, n % 64), &v, 2); }
  }
  __syncthreads();
  float d[128];
  for (float& x : d) x = 1.f;  // scale_d = 0 must ignore it
  wg::wgmma_fence();
  wg::wgmma_m64k16<__nv_bfloat16, 256, false, true>(d, wg::make_desc(s, 16, 1024), wg::make_desc(s + 8192, 8192, 1024), 0);
  wg::wgmma_commit();
  wg::wgmma_wait<0>();
  const int w = threadIdx.x / 32, l = threadIdx.x % 32;
  for (int i = 0; i < 128; i++) {
    const int r = 16 * w + l / 4 + 8 * ((i % 4) / 2), c = 8 * (i / 4) + 2 * (l % 4) + i % 2;
    double ref = 0;
    for (int k = 0; k < 16; k++) ref += (double)A[r * 16 + k] * B[k * 256 + c];
    CHECK(d[i] == (float)ref, "wgmma: thread %d d[%d] (D[%d][%d]) got %g want %g\n", (int)threadIdx.x, i, r, c, d[i], ref);
  }
}

// 128 threads: A 64 x 16 in registers (register fragment of m64nNk16: a[j] holds A[16w + l/4 + 8(j%2)]
// [2(l%4) + 8(j/2) + {0, 1}], the lower column in the low half), B 16 x 64 N-major; D = A B.
static void wgmma_rs_kernel(const float* A, const float* B) {
  unsigned char* s = ::emu::dynamic_smem();
  if (threadIdx.x == 0)
    for (int k = 0; k < 16; k++)
      for (int n = 0; n < 64; n++) { uint16_t v = bits(B[k * 64 + n]); std::memcpy(s + swizzled(k, n), &v, 2); }
  __syncthreads();
  const int w = threadIdx.x / 32, l = threadIdx.x % 32;
  uint32_t a[4];
  for (int j = 0; j < 4; j++) {
    const int r = 16 * w + l / 4 + 8 * (j % 2), c = 2 * (l % 4) + 8 * (j / 2);
    a[j] = bits(A[r * 16 + c]) | (uint32_t)bits(A[r * 16 + c + 1]) << 16;
  }
  float d[32];
  for (float& x : d) x = 1.f;
  wg::wgmma_fence();
  wg::wgmma_rs_m64k16<__nv_bfloat16, 64, true>(d, a, wg::make_desc(s, 8192, 1024), 1);  // scale_d = 1: D += A B
  wg::wgmma_commit();
  wg::wgmma_wait<0>();
  for (int i = 0; i < 32; i++) {
    const int r = 16 * w + l / 4 + 8 * ((i % 4) / 2), c = 8 * (i / 4) + 2 * (l % 4) + i % 2;
    double ref = 1;
    for (int k = 0; k < 16; k++) ref += (double)A[r * 16 + k] * B[k * 64 + c];
    CHECK(d[i] == (float)ref, "wgmma_rs: thread %d d[%d] (D[%d][%d]) got %g want %g\n", (int)threadIdx.x, i, r, c, d[i], ref);
  }
}

int main() {
  std::vector<uint16_t> g(70 * 64);
  for (int r = 0; r < 70; r++)
    for (int e = 0; e < 64; e++) g[r * 64 + e] = bits((float)(r % 7 * 64 + e % 13));
  CUtensorMap map;
  const uint64_t dims[2] = {64, 70}, strides[1] = {128};
  const uint32_t box[2] = {64, 80};
  wg::encode_tensor_map(&map, true, g.data(), 2, dims, strides, box);
  int ok = 0;
  ::emu::launch(tma_kernel, dim3(1), dim3(1), 20000)(&map, &ok);
  CHECK(ok, "tma: the barrier's phase 0 did not complete\n");
  std::vector<float> A(64 * 16), B(16 * 256);
  for (size_t i = 0; i < A.size(); i++) A[i] = (float)((int)(i * 7 % 11) - 5);
  for (size_t i = 0; i < B.size(); i++) B[i] = (float)((int)(i * 5 % 9) - 4);
  ::emu::launch(wgmma_kernel, dim3(1), dim3(128), 8192 * 5)(A.data(), B.data());
  std::vector<float> B2(16 * 64);
  for (size_t i = 0; i < B2.size(); i++) B2[i] = (float)((int)(i * 3 % 7) - 3);
  ::emu::launch(wgmma_rs_kernel, dim3(1), dim3(128), 8192 * 2)(A.data(), B2.data());
  std::printf(failures ? "selftest_wgmma: %d FAILURES\n" : "selftest_wgmma: ok\n", failures);
  return failures != 0;
}
