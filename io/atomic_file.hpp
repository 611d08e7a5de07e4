// Text files written whole or not at all: written aside (PATH.tmp) and renamed into
// place, so an interrupted run never leaves a truncated file under the real name.
#pragma once
#include <filesystem>
#include <string>

namespace proxysim {

// Makes the file's folder when missing. Throws UserError naming the path and the
// system's reason when it cannot make the folder, write, or move the file into place
// (the aside copy is removed).
void write_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace proxysim
