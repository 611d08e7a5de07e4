#include "experiments/sweep_run.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <omp.h>

#include <filesystem>
#include <sstream>

#include "experiments/estimate.hpp"
#include "experiments/progress.hpp"
#include "experiments/sweep_files.hpp"
#include "experiments/sweep_messages.hpp"
#include "io/atomic_file.hpp"
#include "io/h5.hpp"
#include "io/h5_merge.hpp"
#include "base/error.hpp"

namespace proxysim {

namespace fs = std::filesystem;

SweepOutcome run_sweep(const SweepPlan& plan, const SweepOptions& options, const World& world, std::ostream& log) {
  if (plan.cells.empty()) throw UserError("the sweep has no cells");
  check_memory(plan, options, world);
  const uint64_t N = plan.cells.size();
  const std::string manifest = manifest_of(plan, options);
  const std::string fp = fingerprint(manifest);

  // Rank 0 decides the output, checks what a resume finds and tells the others.
  PrepareMessage msg;
  if (world.rank == 0) {
    try {
      msg.prepared = prepare(plan, options, manifest, fp, log);
    } catch (const UserError& e) {
      msg.error = e.what();
    }
  }
  msg = decode_prepare(world_broadcast(world, encode(msg)));
  if (!msg.error.empty()) throw UserError(msg.error);
  const Prepared& prep = msg.prepared;
  SweepOutcome out;
  out.output = prep.output;
  out.cells = N;
  out.resumed = prep.complete ? N : N - prep.todo.size();
  if (prep.complete) {
    if (world.rank == 0 && !options.quiet) fmt::print(log, "proxysim: {} already holds these {} cells\n", prep.output, N);
    return out;
  }
  const fs::path work = prep.output + ".cells";
  if (world.rank == 0 && !options.quiet && out.resumed > 0) {
    fmt::print(log, "proxysim: resuming: {} of {} cells already complete in {}\n", out.resumed, N, work.string());
  }
  if (world.rank == 0 && !options.quiet && world.size > 1) {
    fmt::print(log, "proxysim: {} cells over {} ranks, {} threads per rank\n", prep.todo.size(), world.size,
               omp_get_max_threads());
  }

  // One process and one cell: its log goes straight to the terminal, as a plain run's.
  const bool direct = N == 1 && world.size == 1;
  Progress progress(N, out.resumed, world.rank == 0 && !options.quiet && !direct, log);
  CellFailure failure;
  uint64_t done_here = 0;
  for (size_t k = world.rank; k < prep.todo.size(); k += world.size) {
    const SweepCell& cell = plan.cells[prep.todo[k]];
    RunOptions ro;
    ro.backend = options.backend;
    ro.checkpoint = options.checkpoint;
    ro.output = cell_file(work, cell.index);
    std::ostringstream cell_log;
    ro.quiet = direct ? options.quiet : false;
    try {
      RunResult r = run_experiment(cell.config, ro, direct ? log : static_cast<std::ostream&>(cell_log));
      if (!direct) {
        // The tables a one-cell run prints, kept with the cell (its group's `log`).
        print_summary(r, cell_log, cell.config.summary_rows);
        write_atomically(work / (std::to_string(cell.index) + ".log"), cell_log.str());
      }
      // Last: the checksum that makes the cell count as complete.
      write_atomically(cell_sum(work, cell.index), file_checksum(cell_file(work, cell.index)) + "\n");
      if (direct) {
        out.single = true;
        r.output = prep.output;
        out.result = std::move(r);
      }
    } catch (const UserError& e) {
      failure = {CellFailure::Kind::kUser, cell.index, e.what()};
    } catch (const std::exception& e) {
      failure = {CellFailure::Kind::kInternal, cell.index, e.what()};
    }
    if (failure.kind != CellFailure::Kind::kNone) break;
    ++done_here;
    if (world.rank == 0) progress.update(world.size == 1 ? out.resumed + done_here : out.resumed + count_complete(work, prep.todo));
  }
  auto poll = [&] {
    if (world.rank == 0) progress.update(out.resumed + count_complete(work, prep.todo));
  };
  world_wait_all(world, poll);
  poll();
  progress.finish();

  // Failures, gathered to rank 0: the run fails naming rank and cell; finished cells stay.
  const std::vector<std::string> failures = world_gather(world, encode(failure));
  CellFailure verdict;  // the run's outcome, rank 0 to all: the first kind, every message
  if (world.rank == 0) {
    std::string message;
    bool internal = false;
    for (size_t r = 0; r < failures.size(); ++r) {
      const CellFailure f = decode_failure(failures[r]);
      if (f.kind == CellFailure::Kind::kNone) continue;
      const uint64_t cell = f.cell;
      const std::string& what = f.message;
      internal = internal || f.kind == CellFailure::Kind::kInternal;
      if (direct && !plan.swept) {
        message = what;  // a plain run's error reads as it always has
      } else {
        const std::string axes = describe_axes(plan.cells[cell]);
        message += (message.empty() ? "" : "; ") + (world.size > 1 ? "rank " + std::to_string(r) + ": " : "") +
                   "cell " + std::to_string(cell) + (axes.empty() ? "" : " (" + axes + ")") + " failed: " + what;
      }
    }
    if (!message.empty()) {
      const uint64_t complete = out.resumed + count_complete(work, prep.todo);
      if (complete == 0) {
        std::error_code ec;
        fs::remove_all(work, ec);  // nothing to resume
      } else {
        message += fmt::format(" ({} of {} cells are complete in {}; run the same command again to resume)", complete,
                               N, work.string());
      }
      verdict = {internal ? CellFailure::Kind::kInternal : CellFailure::Kind::kUser, 0, message};
    }
  }
  verdict = decode_failure(world_broadcast(world, encode(verdict)));
  if (verdict.kind != CellFailure::Kind::kNone) {
    if (verdict.kind == CellFailure::Kind::kInternal) throw std::runtime_error(verdict.message);
    throw UserError(verdict.message);
  }
  if (world.rank == 0) {
    try {
      merge(plan, options, world, prep.output, fp);
    } catch (const UserError& e) {
      throw UserError(fmt::format("{} (all {} cells are complete in {}; run the same command again to merge them)",
                                  e.what(), N, work.string()));
    }
  }
  return out;
}

}  // namespace proxysim
