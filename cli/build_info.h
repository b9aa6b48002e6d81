#pragma once
// What `mixlab --version` prints: the version and the facts about this build
// and machine that decide its speed (CUDA, GEMM backend, threads, vector ISA).
#include <string>

namespace mixlab::cli {

std::string version_line();  // "mixlab 0.1.0"
std::string build_info();    // version_line() plus one "  key: value" line per fact

}  // namespace mixlab::cli
