// write_atomically: the whole text under the real name, the folder made when missing
// (a config's export under results/runs/ on a fresh clone), and a clear error naming
// the path when the folder cannot be made.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "base/error.hpp"
#include "io/atomic_file.hpp"

using namespace proxysim;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / name;
  fs::remove_all(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(AtomicFile, MakesAMissingFolderAndLeavesNoAsideCopy) {
  const fs::path dir = scratch("atomic_file_folder");
  const fs::path file = dir / "runs" / "deep" / "export.csv";
  write_atomically(file, "a,b\n1,2\n");
  EXPECT_EQ(slurp(file), "a,b\n1,2\n");
  EXPECT_FALSE(fs::exists(file.string() + ".tmp"));
  write_atomically(file, "replaced\n");  // an existing file is replaced whole
  EXPECT_EQ(slurp(file), "replaced\n");
  fs::remove_all(dir);
}

TEST(AtomicFile, AFolderThatCannotBeMadeIsAnErrorNamingThePath) {
  const fs::path dir = scratch("atomic_file_blocked");
  fs::create_directories(dir);
  std::ofstream(dir / "plain") << "x";  // a file where the folder would go
  const fs::path file = dir / "plain" / "export.csv";
  try {
    write_atomically(file, "text");
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(file.string() + ": cannot create folder"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}
