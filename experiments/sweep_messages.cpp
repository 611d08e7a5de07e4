#include "experiments/sweep_messages.hpp"

#include <stdexcept>

namespace proxysim {

namespace {

class Writer {
 public:
  explicit Writer(const char* tag) { field(tag); }
  Writer& field(const std::string& s) {
    out_ += std::to_string(s.size()) + ":" + s;
    return *this;
  }
  Writer& number(uint64_t v) { return field(std::to_string(v)); }
  std::string str() const { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  Reader(const std::string& bytes, const char* tag) : in_(bytes) {
    if (field() != tag) throw std::logic_error(std::string("sweep message: expected a '") + tag + "' message");
  }
  std::string field() {
    const size_t colon = in_.find(':', at_);
    if (colon == std::string::npos) throw std::logic_error("sweep message: truncated");
    const size_t len = std::stoull(in_.substr(at_, colon - at_));
    if (colon + 1 + len > in_.size()) throw std::logic_error("sweep message: truncated");
    std::string s = in_.substr(colon + 1, len);
    at_ = colon + 1 + len;
    return s;
  }
  uint64_t number() { return std::stoull(field()); }

 private:
  const std::string& in_;
  size_t at_ = 0;
};

}  // namespace

std::string encode(const PrepareMessage& m) {
  Writer w("prepare");
  w.field(m.error).field(m.prepared.output).number(m.prepared.complete ? 1 : 0).number(m.prepared.todo.size());
  for (uint64_t i : m.prepared.todo) w.number(i);
  return w.str();
}

PrepareMessage decode_prepare(const std::string& bytes) {
  Reader r(bytes, "prepare");
  PrepareMessage m;
  m.error = r.field();
  m.prepared.output = r.field();
  m.prepared.complete = r.number() != 0;
  const uint64_t n = r.number();
  for (uint64_t i = 0; i < n; ++i) m.prepared.todo.push_back(r.number());
  return m;
}

std::string encode(const CellFailure& m) {
  return Writer("failure").number(static_cast<uint64_t>(m.kind)).number(m.cell).field(m.message).str();
}

CellFailure decode_failure(const std::string& bytes) {
  Reader r(bytes, "failure");
  CellFailure m;
  const uint64_t kind = r.number();
  if (kind > static_cast<uint64_t>(CellFailure::Kind::kInternal)) throw std::logic_error("sweep message: bad kind");
  m.kind = static_cast<CellFailure::Kind>(kind);
  m.cell = r.number();
  m.message = r.field();
  return m;
}

}  // namespace proxysim
