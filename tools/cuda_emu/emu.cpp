// Fiber scheduler for the emulated kernels and a fake CUDA runtime (host memory as device memory).
#include <ucontext.h>
#include <sys/mman.h>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>
#include <random>
#include <numeric>
#include "prelude.h"

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

namespace emu {
namespace {
enum State { READY, AT_SYNC, AT_SHFL, DONE };
struct Fiber {
  ucontext_t ctx;
  State st;
  char* stack = nullptr;
  uint3 tid;
  unsigned char val[8], res[8];
  int size = 0, arg = 0, width = 32, op = 0, pred = 0, mode = 0, sync_res = 0;
  unsigned mask = ~0u;
  unsigned calls = 0;  // warp_all calls (slot parity)
  struct Copy { void* dst; unsigned char data[16]; };
  std::vector<Copy> copies;   // issued cp.async, oldest first
  std::vector<size_t> groups;  // committed groups: their end in copies
};
constexpr size_t kStack = 256 << 10;
std::vector<Fiber> fibers(1024);
ucontext_t sched;
int cur = 0;
const std::function<void()>* g_body = nullptr;

void entry() {
  (*g_body)();
  fibers[cur].st = DONE;
  swapcontext(&fibers[cur].ctx, &sched);
}

void yield_as(State s) {
  fibers[cur].st = s;
  swapcontext(&fibers[cur].ctx, &sched);
}

std::string st_name(State s) { return s == READY ? "ready" : s == AT_SYNC ? "__syncthreads" : s == AT_SHFL ? "shfl" : "exited"; }

// runs one block to completion; returns an error text or ""
std::string run_block(int n) {
  for (int i = 0; i < n; i++) {
    Fiber& f = fibers[i];
    if (!f.stack) {
      f.stack = (char*)mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = f.stack;
    f.ctx.uc_stack.ss_size = kStack;
    f.ctx.uc_link = nullptr;
    makecontext(&f.ctx, entry, 0);
    f.st = READY;
    f.calls = 0;
    f.copies.clear();
    f.groups.clear();
    f.tid = uint3{(unsigned)(i % blockDim.x), (unsigned)(i / blockDim.x % blockDim.y), (unsigned)(i / (blockDim.x * blockDim.y))};
  }
  static std::mt19937 rng(12345);
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  for (;;) {
    std::shuffle(order.begin(), order.end(), rng);  // a random order between barriers exposes missing ones
    for (int i : order) {
      if (fibers[i].st != READY) continue;
      cur = i;
      threadIdx = fibers[i].tid;
      swapcontext(&sched, &fibers[i].ctx);
    }
    int done = 0, sync = 0;
    for (int i = 0; i < n; i++) done += fibers[i].st == DONE, sync += fibers[i].st == AT_SYNC;
    if (done == n) return "";
    bool released = false;
    for (int w = 0; w < n; w += 32) {
      int e = std::min(n, w + 32), sh = 0, other = 0;
      for (int i = w; i < e; i++) sh += fibers[i].st == AT_SHFL, other += fibers[i].st != AT_SHFL;
      if (sh == 0) continue;
      bool excluded = true;  // lanes not at the shuffle must be outside every waiting lane's mask
      for (int i = w; i < e; i++)
        if (fibers[i].st != AT_SHFL)
          for (int j = w; j < e; j++)
            if (fibers[j].st == AT_SHFL && (fibers[j].mask >> (i - w) & 1)) excluded = false;
      if (other && !excluded) {
        bool spinning = false;  // lanes still in a wait loop (wgmma's warpgroup rendezvous) get there later
        for (int i = w; i < e; i++) spinning |= fibers[i].st == READY;
        if (spinning) continue;
        std::string s = "shuffle with a divergent warp: lanes in states";
        for (int i = w; i < e; i++) s += " " + st_name(fibers[i].st);
        return s;
      }
      unsigned ballot = 0;
      for (int i = w; i < e; i++)
        if (fibers[i].op == kBallot) { unsigned v; std::memcpy(&v, fibers[i].val, 4); if (v) ballot |= 1u << (i - w); }
      for (int i = w; i < e; i++) {
        const Fiber& f = fibers[i];
        int lane = i - w, seg = lane / f.width * f.width, src = lane;
        if (f.op == kXor) src = lane ^ f.arg;
        if (f.op == kIdx) src = seg + f.arg % f.width;
        if (f.op == kUp) src = lane - f.arg < seg ? lane : lane - f.arg;
        if (f.op == kDown) src = lane + f.arg >= seg + f.width ? lane : lane + f.arg;
        if (f.op == kXor && src >= seg + f.width) src = lane;
        if (src < 0 || w + src >= e || fibers[w + src].op != f.op) return "shuffle: lanes disagree on the op or leave the warp";
        if (f.op == kBallot) { unsigned b = ballot & f.mask; std::memcpy(fibers[i].res, &b, 4); }
        else std::memcpy(fibers[i].res, fibers[w + src].val, 8);
      }
      for (int i = w; i < e; i++) fibers[i].st = READY;
      released = true;
    }
    if (released) continue;
    bool spinning = false;  // threads that yielded in a wait loop (emu::spin) run again next round
    for (int i = 0; i < n; i++) spinning |= fibers[i].st == READY;
    if (spinning) continue;
    if (sync + done == n) {
      if (done) return "__syncthreads reached by " + std::to_string(sync) + " threads while " + std::to_string(done) + " had exited";
      int cnt = 0;
      for (int i = 0; i < n; i++) cnt += fibers[i].pred;
      for (int i = 0; i < n; i++) {
        int m = fibers[i].mode;
        fibers[i].sync_res = m == 1 ? cnt : m == 2 ? cnt == n : m == 3 ? cnt > 0 : 0;
        fibers[i].st = READY;
      }
      continue;
    }
    return "deadlock";
  }
}
}  // namespace

int sync(int pred, int mode) {
  fibers[cur].pred = pred;
  fibers[cur].mode = mode;
  yield_as(AT_SYNC);
  return fibers[cur].sync_res;
}

void warp(void* v, int size, WarpOp op, int arg, int width, unsigned mask) {
  Fiber& f = fibers[cur];
  std::memset(f.val, 0, 8);
  std::memcpy(f.val, v, size);
  f.size = size;
  f.op = op;
  f.arg = arg;
  f.width = width;
  f.mask = mask;
  yield_as(AT_SHFL);
  std::memcpy(v, fibers[cur].res, size);
}

int linear_tid() { return cur; }
void spin() { yield_as(READY); }
int next_parity() { return fibers[cur].calls++ & 1; }

std::vector<unsigned char> g_smem;
// 1024-byte aligned, so address bits 7..9 (the 128-byte TMA/wgmma swizzle) match a GPU's shared addresses
unsigned char* dynamic_smem() { return (unsigned char*)(((uintptr_t)g_smem.data() + 1023) & ~(uintptr_t)1023); }
std::vector<std::pair<const void*, int>> g_smem_limits;  // cudaFuncSetAttribute(MaxDynamicSharedMemorySize)

void cp_async(void* dst, const void* src, int src_bytes) {
  if (src_bytes < 0 || src_bytes > 16 || (uintptr_t)dst % 16 || (src_bytes && (uintptr_t)src % 16))
    throw std::runtime_error("emu: cp.async with a bad size or a misaligned address");
  Fiber::Copy c{dst, {}};
  std::memcpy(c.data, src, src_bytes);
  std::memset(dst, 0xcd, 16);  // not there yet: a read before the wait sees garbage
  fibers[cur].copies.push_back(c);
}
void cp_commit() { fibers[cur].groups.push_back(fibers[cur].copies.size()); }
void cp_wait(int pending) {
  Fiber& f = fibers[cur];
  if ((int)f.groups.size() <= pending) return;
  size_t end = f.groups[f.groups.size() - pending - 1];
  for (size_t i = 0; i < end; i++) std::memcpy(f.copies[i].dst, f.copies[i].data, 16);
  f.copies.erase(f.copies.begin(), f.copies.begin() + end);
  f.groups.erase(f.groups.begin(), f.groups.end() - pending);
  for (size_t& g : f.groups) g -= end;
}

long g_launches = 0;
void run_grid(dim3 grid, dim3 block, size_t smem, const void* kernel, const std::function<void()>& body) {
  g_launches++;
  int limit = 48 << 10;
  for (auto& e : g_smem_limits)
    if (e.first == kernel) limit = e.second;
  if (smem > (size_t)limit) throw std::runtime_error("emu: dynamic shared memory over the kernel's limit (48 KiB unless raised)");
  g_smem.assign(smem + 1024, 0);
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || block.x * block.y * block.z == 0)
    throw std::runtime_error("emu: launch with an empty grid or block");
  if (grid.y > 65535 || grid.z > 65535) throw std::runtime_error("emu: grid y/z over 65535");
  int n = block.x * block.y * block.z;
  if (n > 1024) throw std::runtime_error("emu: more than 1024 threads per block");
  // EMU_GRID_CAP=1: run at most 3 x 2 x 2 blocks (exercises grid-stride loops; only for kernels that have them)
  static const bool cap = std::getenv("EMU_GRID_CAP") && std::getenv("EMU_GRID_CAP")[0] == '1';
  gridDim = cap ? dim3(std::min(grid.x, 3u), std::min(grid.y, 2u), std::min(grid.z, 2u)) : grid;
  blockDim = block;
  g_body = &body;
  for (unsigned z = 0; z < gridDim.z; z++)
    for (unsigned y = 0; y < gridDim.y; y++)
      for (unsigned x = 0; x < gridDim.x; x++) {
        blockIdx = uint3{x, y, z};
        std::memset(g_smem.data(), 0xcd, g_smem.size());  // shared memory starts as garbage
        std::string err = run_block(n);
        if (!err.empty()) {
          std::fprintf(stderr, "emu kernel error: %s\n", err.c_str());
          throw std::runtime_error("emu kernel error: " + err);
        }
      }
}
}  // namespace emu

// ---------------------------------------------------------------- fake runtime
extern "C" {
cudaError_t cudaMalloc(void** p, size_t n) {
  size_t r = (std::max<size_t>(n, 1) + 255) / 256 * 256;
  *p = r > (size_t(8) << 30) ? nullptr : std::aligned_alloc(256, r);  // the fake device has 8 GiB
  if (!*p) return cudaErrorMemoryAllocation;
  std::memset(*p, 0xcd, r);  // garbage, like fresh device memory
  return cudaSuccess;
}
cudaError_t cudaFuncSetAttribute(const void* f, enum cudaFuncAttribute a, int v) {
  if (a != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaSuccess;
  if (v > 227 << 10) return cudaErrorInvalidValue;  // sm_90's most per block
  for (auto& e : emu::g_smem_limits)
    if (e.first == f) { e.second = v; return cudaSuccess; }
  emu::g_smem_limits.push_back({f, v});
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) { std::free(p); return cudaSuccess; }
cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, enum cudaMemcpyKind, cudaStream_t) { std::memmove(d, s, n); return cudaSuccess; }
cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t) { std::memset(p, v, n); return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaGetLastError(void) { return cudaSuccess; }
const char* cudaGetErrorString(cudaError_t) { return "emulated error"; }
const char* cudaGetErrorName(cudaError_t) { return "cudaErrorEmulated"; }
cudaError_t cudaSetDevice(int) { return cudaSuccess; }
cudaError_t cudaGetDevice(int* d) { *d = 0; return cudaSuccess; }
cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
// EMU_CC_MAJOR=8 makes the emulated device an sm_80, so the pre-Hopper paths (mma.sync GEMM) run.
static int cc_major() {
  static const int v = std::getenv("EMU_CC_MAJOR") ? std::atoi(std::getenv("EMU_CC_MAJOR")) : 9;
  return v;
}
cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp* p, int) {
  std::memset(p, 0, sizeof(*p));
  std::strcpy(p->name, "pyml CPU emulator");
  p->major = cc_major(); p->minor = 0; p->multiProcessorCount = 4; p->warpSize = 32;
  p->totalGlobalMem = size_t(8) << 30; p->sharedMemPerBlock = 48 << 10; p->l2CacheSize = 1 << 20;
  p->memoryBusWidth = 64;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* v, enum cudaDeviceAttr a, int) {
  // as cudaGetDeviceProperties says: 4 SMs, compute capability EMU_CC_MAJOR.0 (default 9)
  *v = a == cudaDevAttrMultiProcessorCount ? 4 : a == cudaDevAttrComputeCapabilityMajor ? cc_major() : a == cudaDevAttrComputeCapabilityMinor ? 0 : 1000;
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* f, size_t* t) { *f = size_t(4) << 30; *t = size_t(8) << 30; return cudaSuccess; }
cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
cudaError_t cudaStreamCreateWithPriority(cudaStream_t* s, unsigned int, int) { *s = (cudaStream_t) new char[16]; return cudaSuccess; }
cudaError_t cudaStreamDestroy(cudaStream_t s) { delete[] (char*)s; return cudaSuccess; }
cudaError_t cudaStreamQuery(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned int) { return cudaSuccess; }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned int) { *e = (cudaEvent_t) new char[16]; return cudaSuccess; }
cudaError_t cudaEventDestroy(cudaEvent_t e) { delete[] (char*)e; return cudaSuccess; }
cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventQuery(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t, cudaEvent_t) { *ms = 0; return cudaSuccess; }
cudaError_t cudaDeviceGetStreamPriorityRange(int* lo, int* hi) { *lo = 0; *hi = 0; return cudaSuccess; }
}
