// Text helpers shared by the file readers of every layer (io/measured_csv.cpp,
// search/accuracy.cpp): sim/ is the layer all of them may include.
#pragma once
#include <cstdint>
#include <istream>
#include <string>
#include <utility>
#include <vector>

#include "base/error.hpp"

namespace proxysim {

// "<file>:<line>: column '<column>'", the prefix of a reader's error about one field.
inline std::string csv_where(const std::string& file, uint64_t line, const std::string& column) {
  return file + ":" + std::to_string(line) + ": column '" + column + "'";
}

// Fields of one line of a comma-separated file, as RFC 4180 writes them: a field may be
// enclosed in double quotes (then it may hold commas, and a quote inside is doubled).
// A field cannot span lines (no value of the readers' formats holds a line break), so an
// unclosed quote is refused, as are a quote inside an unquoted field and text after a
// closing quote; `file` and `line` name the place in the error.
inline std::vector<std::string> split_csv_line(const std::string& text, const std::string& file, uint64_t line) {
  std::vector<std::string> out;
  auto fail = [&](const std::string& what) {
    throw UserError(file + ":" + std::to_string(line) + ": field " + std::to_string(out.size() + 1) + ": " + what);
  };
  size_t i = 0;
  const size_t n = text.size();
  while (true) {
    std::string field;
    if (i < n && text[i] == '"') {
      const size_t open = i++;
      while (true) {
        if (i >= n) {
          fail("the quote opened at character " + std::to_string(open + 1) +
               " is not closed on this line (a quoted field cannot span lines)");
        }
        if (text[i] == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += text[i++];
      }
      if (i < n && text[i] != ',') {
        fail("unexpected text after the closing quote, at character " + std::to_string(i + 1) +
             " (a quote inside a quoted field is written twice)");
      }
    } else {
      const size_t end = text.find(',', i);
      field = text.substr(i, end == std::string::npos ? std::string::npos : end - i);
      const size_t quote = field.find('"');
      if (quote != std::string::npos) {
        fail("a quote at character " + std::to_string(i + quote + 1) +
             " inside an unquoted field (quote the whole field and double the quote)");
      }
      i = end == std::string::npos ? n : end;
    }
    out.push_back(std::move(field));
    if (i >= n) break;
    ++i;  // the comma
    if (i == n) {
      out.emplace_back();  // a trailing comma ends with an empty field
      break;
    }
  }
  return out;
}

// Lines of a comma-separated file as spreadsheet programs save it: a UTF-8 byte-order
// mark before the first line is skipped and a line may end in LF, CRLF or CR CR LF (CRLF
// text written once more through a Windows text-mode stream, as Python's csv module does
// there by default); a carriage return anywhere else (old Mac line ends, a stray byte)
// and a UTF-16 file are refused with their line named. Lines are counted from 1 as a
// text editor shows them.
class CsvLines {
 public:
  CsvLines(std::istream& in, std::string file) : in_(in), file_(std::move(file)) {}

  // The next line's text, without its line end; false at the end of the file.
  bool next(std::string& text) {
    if (!std::getline(in_, text)) return false;
    ++line_;
    if (line_ == 1) {
      if (text.rfind("\xEF\xBB\xBF", 0) == 0) {
        text.erase(0, 3);
      } else if (text.rfind("\xFF\xFE", 0) == 0 || text.rfind("\xFE\xFF", 0) == 0) {
        throw UserError(file_ + ":1: the file is UTF-16 text (it starts with a UTF-16 byte-order mark); save it as UTF-8");
      }
    }
    while (!text.empty() && text.back() == '\r') text.pop_back();
    const size_t cr = text.find('\r');
    if (cr != std::string::npos) {
      throw UserError(file_ + ":" + std::to_string(line_) + ": a carriage return at character " + std::to_string(cr + 1) +
                      " inside the line (lines must end in LF or CRLF; a lone CR is not a line end here)");
    }
    return true;
  }
  // The next line split into fields (split_csv_line); an empty line gives no fields.
  bool next_fields(std::vector<std::string>& fields) {
    std::string text;
    if (!next(text)) return false;
    fields.clear();
    if (!text.empty()) fields = split_csv_line(text, file_, line_);
    return true;
  }
  uint64_t line() const { return line_; }

 private:
  std::istream& in_;
  std::string file_;
  uint64_t line_ = 0;
};

}  // namespace proxysim
