// A main for the fuzz targets where libFuzzer is not linked (gcc, the ci
// preset): runs LLVMFuzzerTestOneInput once on every file named, or on every
// file in a directory named, as libFuzzer does with file arguments. So ctest
// replays the seed corpus through the same target code the fuzzers run.
#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

void run_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t inputs = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg = argv[i];
    if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg))
        if (entry.is_regular_file()) run_file(entry.path()), ++inputs;
    } else if (std::filesystem::is_regular_file(arg)) {
      run_file(arg), ++inputs;
    } else {
      fmt::print(stderr, "{}: no such file or directory\n", arg.string());
      return 2;
    }
  }
  fmt::print("{} inputs ran without a finding\n", inputs);
  return inputs == 0 ? 2 : 0;
}
