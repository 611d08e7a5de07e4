#include "kernels/chain_tables.hpp"

#include <cassert>
#include <map>
#include <stdexcept>
#include <utility>

#include "sim/latency_model.hpp"

namespace proxysim {

namespace {

struct NullSink {
  void operator()(const Op&) {}
};

// The walk state an op sequence leaves behind.
struct WalkEnd {
  double prev_exec_s;
  double prev_out_bytes;
};

}  // namespace

ChainTables compile_chain(SpaceId space, const SpaceParams& params, const std::vector<DeviceParams>& devices) {
  if (!is_chain_space(space)) throw std::logic_error("compile_chain: not a chain space");
  ChainTables t;
  t.positions = chain_positions(space);
  t.choices = chain_choices(space);
  t.groups = chain_groups(space);
  t.devices = static_cast<int32_t>(devices.size());
  t.stride = (t.devices + kChainDeviceBlock - 1) / kChainDeviceBlock * kChainDeviceBlock;
  const int P = t.positions, C = t.choices, G = t.groups, D = t.devices, S = t.stride;
  if (P > kMaxChainPositions) throw std::logic_error("compile_chain: more positions than kMaxChainPositions");

  t.prefix.assign(static_cast<size_t>(G) * S, 0.0f);
  t.stat.assign(static_cast<size_t>(G) * P * C * 3, 0.0f);
  t.stat_fixed.assign(static_cast<size_t>(G) * 3, 0.0f);
  t.state_base.assign(static_cast<size_t>(G) * (P + 1), 0);

  uint32_t rows_so_far = 0;  // boundary-state rows over all groups
  for (int g = 0; g < G; ++g) {
    // Boundary tensors and per-choice statistics (state-independent).
    std::vector<Tensor> boundary(P + 1);
    {
      NullSink null;
      Emitter<NullSink> em(null);
      OpTotals fixed;
      Emitter<OpTotals> emt(fixed);
      boundary[0] = chain_prefix(space, g, params, emt);
      for (int pos = 0; pos < P; ++pos) {
        for (int c = 0; c < C; ++c) {
          OpTotals tot;
          Emitter<OpTotals> e2(tot);
          chain_position(space, pos, c, e2, boundary[pos]);
          float* st = &t.stat[((static_cast<size_t>(g) * P + pos) * C + c) * 3];
          st[0] = static_cast<float>(tot.macs);
          st[1] = static_cast<float>(tot.params);
          st[2] = static_cast<float>(tot.ops);
        }
        // Shapes at a boundary do not depend on the choice (only identities are free
        // to be absent, and they keep the shape).
        boundary[pos + 1] = chain_position(space, pos, 0, em, boundary[pos]);
        boundary[pos + 1].id = -1;
      }
      chain_suffix(space, params, emt, boundary[P]);
      t.stat_fixed[g * 3 + 0] = static_cast<float>(fixed.macs);
      t.stat_fixed[g * 3 + 1] = static_cast<float>(fixed.params);
      t.stat_fixed[g * 3 + 2] = static_cast<float>(fixed.ops);
    }

    // Reachable states per boundary: the origin of the last executed op, -1 for the
    // prefix or pos * C + c.
    std::vector<std::vector<int>> states(P + 1);
    states[0] = {-1};
    std::vector<std::vector<uint16_t>> next(P);
    for (int pos = 0; pos < P; ++pos) {
      std::map<int, int> index;
      for (int s : states[pos]) {
        for (int c = 0; c < C; ++c) {
          const int origin = chain_identity(space, pos, c) ? s : pos * C + c;
          if (!index.count(origin)) {
            index[origin] = static_cast<int>(states[pos + 1].size());
            states[pos + 1].push_back(origin);
          }
          next[pos].push_back(static_cast<uint16_t>(index[origin]));
        }
      }
      if (states[pos + 1].size() > 65535) throw std::logic_error("compile_chain: too many states");
    }
    for (int pos = 0; pos <= P; ++pos) {
      t.state_base[static_cast<size_t>(g) * (P + 1) + pos] = rows_so_far;
      rows_so_far += static_cast<uint32_t>(states[pos].size());
    }
    for (int pos = 0; pos < P; ++pos) t.next_state.insert(t.next_state.end(), next[pos].begin(), next[pos].end());
    // next_state shares cost's row numbering, which counts the final boundary's states
    // too: pad them, or every later group (OFA resolution) reads shifted transitions.
    t.next_state.resize(t.next_state.size() + states[P].size() * C, 0);
  }

  // Costs: walk every (position, state, choice) on every device.
  const size_t boundary_rows = rows_so_far;
  t.cost.assign(boundary_rows * C * S, 0.0f);
  t.suffix.assign(boundary_rows * S, 0.0f);
  for (int g = 0; g < G; ++g) {
    const uint32_t* base = &t.state_base[static_cast<size_t>(g) * (P + 1)];
    for (int d = 0; d < D; ++d) {
      const DeviceParams& dev = devices[d];
      const bool isolate = isolates_blocks(dev, space);
      // End state of each origin, filled as positions are walked in order.
      std::map<int, WalkEnd> end_of;
      LatencyWalk pw(dev, isolate);
      Emitter<LatencyWalk> pem(pw);
      Tensor x = chain_prefix(space, g, params, pem);
      t.prefix[static_cast<size_t>(g) * S + d] = static_cast<float>(pw.total_s);
      end_of[-1] = WalkEnd{pw.prev_exec_s, pw.prev_out_bytes};
      const int32_t boundary_id = x.id;
      const int32_t next_id = pem.next_id;

      // Walk positions; states at boundary pos are in a fixed order, recovered by
      // replaying the same reachability as above.
      std::vector<int> cur = {-1};
      for (int pos = 0; pos <= P; ++pos) {
        for (size_t si = 0; si < cur.size(); ++si) {
          const WalkEnd start = end_of.at(cur[si]);
          auto walk_from_start = [&](auto&& lower_fn) {
            LatencyWalk w(dev, isolate);
            w.prev_exec_s = start.prev_exec_s;
            w.prev_out_bytes = start.prev_out_bytes;
            Emitter<LatencyWalk> em(w);
            em.last_id = boundary_id;
            em.next_id = next_id;
            Tensor in{boundary_id, x.h, x.w, x.c};
            lower_fn(em, in);
            return w;
          };
          if (pos == P) {
            LatencyWalk w = walk_from_start([&](auto& em, Tensor in) { chain_suffix(space, params, em, in); });
            t.suffix[(static_cast<size_t>(base[pos]) + si) * S + d] = static_cast<float>(w.total_s);
            continue;
          }
          for (int c = 0; c < C; ++c) {
            const size_t row = (static_cast<size_t>(base[pos]) + si) * C + c;
            if (chain_identity(space, pos, c)) continue;  // cost 0, state passes through
            LatencyWalk w = walk_from_start([&](auto& em, Tensor in) { chain_position(space, pos, c, em, in); });
            t.cost[row * S + d] = static_cast<float>(w.total_s);
            const int origin = pos * C + c;
            const WalkEnd end{w.prev_exec_s, w.prev_out_bytes};
            auto it = end_of.find(origin);
            if (it == end_of.end()) {
              end_of[origin] = end;
            } else if (it->second.prev_exec_s != end.prev_exec_s || it->second.prev_out_bytes != end.prev_out_bytes) {
              // The decomposition needs a position's end state to be independent of
              // the state it started from; the model keeps it so by construction.
              throw std::logic_error("compile_chain: end state depends on start state");
            }
          }
        }
        if (pos == P) break;
        // Advance the boundary tensor (shape only) and the reachable-state list.
        {
          NullSink null;
          Emitter<NullSink> em(null);
          x = chain_position(space, pos, 0, em, Tensor{boundary_id, x.h, x.w, x.c});
        }
        std::vector<int> nxt;
        std::map<int, int> seen;
        for (int s : cur) {
          for (int c = 0; c < C; ++c) {
            const int origin = chain_identity(space, pos, c) ? s : pos * C + c;
            if (!seen.count(origin)) {
              seen[origin] = 1;
              nxt.push_back(origin);
            }
          }
        }
        cur = std::move(nxt);
      }
    }
  }
  return t;
}

}  // namespace proxysim
