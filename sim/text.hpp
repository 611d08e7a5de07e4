// Text helpers shared by the file readers of every layer (io/measured_csv.cpp,
// search/accuracy.cpp): sim/ is the layer all of them may include.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace proxysim {

// Fields of one line of a comma-separated file. The shared data files use no quoting;
// a quote would mean another format, and the readers' field checks refuse it.
inline std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    out.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// "<file>:<line>: column '<column>'", the prefix of a reader's error about one field.
inline std::string csv_where(const std::string& file, uint64_t line, const std::string& column) {
  return file + ":" + std::to_string(line) + ": column '" + column + "'";
}

}  // namespace proxysim
