// PROXYSIM_HD marks per-item math shared by the CPU (OpenMP) and CUDA backends.
#pragma once

#if defined(__CUDACC__)
#define PROXYSIM_HD __host__ __device__
#else
#define PROXYSIM_HD
#endif
