// PROXYSIM_HD marks per-item math shared by the CPU (OpenMP) and CUDA backends.
#pragma once

#if defined(__CUDACC__)
#define PROXYSIM_HD __host__ __device__
#else
#define PROXYSIM_HD
#endif

// No-alias promise for the pointers of hot loops (g++, clang and nvcc all accept it).
#define PROXYSIM_RESTRICT __restrict__
