// How much memory a cell may use: what this machine (or its cgroup, a batch job's
// limit) has available, shared among the ranks on the node, or --max-memory.
#pragma once
#include <string>

#include "experiments/mpi_world.hpp"
#include "experiments/sweep_run.hpp"

namespace proxysim {

// Bytes this process may still use: MemAvailable from /proc/meminfo, or the cgroup's
// memory limit less its usage when lower; 0 when neither can be read.
double available_memory_bytes();
// "512M", "8G", "1.5T", "1073741824": binary suffixes K, M, G, T; UserError otherwise.
double parse_memory_size(const std::string& text, const std::string& what);
// The memory limit of one cell and where it comes from (`source`); 0 when unknown.
double memory_limit(const SweepOptions& options, const World& world, std::string& source);
// Bytes this process holds now (VmRSS), 0 when unknown: the start of every estimate.
double resident_bytes();

}  // namespace proxysim
