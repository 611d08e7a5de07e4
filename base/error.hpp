// User mistakes (bad config, bad CSV, unknown name, unwritable path): a typed error
// whose message names the source, what was expected and what was found. The CLI
// prints it on one line and exits with status 2.
#pragma once
#include <stdexcept>
#include <string>

namespace proxysim {

class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace proxysim
