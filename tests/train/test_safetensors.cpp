#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "autograd/ops.h"
#include "tests/scratch_dir.h"
#include "train/safetensors.h"

using namespace mixlab;
namespace fs = std::filesystem;

namespace {

std::string fixture(const char* name) { return std::string(MIXLAB_SOURCE_DIR) + "/tests/data/" + name; }

std::string temp_path(const std::string& name) { return (test::scratch_dir("safetensors_tests") / name).string(); }

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string with_header(const std::string& json, const std::string& data = "") {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  return s + json + data;
}

}  // namespace

TEST_CASE("safetensors: reads a file written by the reference Python package", "[train][safetensors]") {
  SafetensorsFile f = read_safetensors(fixture("reference.safetensors"));
  REQUIRE(f.tensors.size() == 4);
  CHECK(f.metadata.at("format") == "pt");
  const Tensor& w = f.at("blocks.0.mixer.q_proj.weight");
  CHECK(w.dtype() == DType::F32);
  CHECK(w.shape() == Shape{2, 3});
  CHECK(w.to_vector() == std::vector<double>{0, 0.25, 0.5, 0.75, 1.0, 1.25});
  CHECK(f.at("head.bias").to_vector() == std::vector<double>{1.5, -2.0, 3.25});
  CHECK(f.at("step").to_indices() == std::vector<int64_t>{7, -8, 9, 10});
  const Tensor& tokens = f.at("tokens");  // I32 is widened to I64
  CHECK(tokens.dtype() == DType::I64);
  CHECK(tokens.to_indices() == std::vector<int64_t>{1, 2, 3, 8191});
  REQUIRE_THROWS_WITH(f.at("missing"), Catch::Contains("missing"));
}

TEST_CASE("safetensors: write then read round-trips names, values and metadata", "[train][safetensors]") {
  Generator gen(4);
  std::vector<std::pair<std::string, Tensor>> ts = {
      {"b.weight", Tensor::randn({3, 5}, gen)},
      {"a.bias", Tensor::randn({7}, gen, DType::F64)},
      {"ids", Tensor::from_indices({5, 6, 7}, {3})},
      {"scalar", Tensor::scalar(2.5)},
  };
  const std::string path = temp_path("roundtrip.safetensors");
  write_safetensors(path, ts, {{"step", "12"}});
  SafetensorsFile f = read_safetensors(path);
  REQUIRE(f.tensors.size() == ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    CHECK(f.tensors[i].first == ts[i].first);  // written order is kept
    CHECK(f.tensors[i].second.shape() == ts[i].second.shape());
    CHECK(f.tensors[i].second.dtype() == ts[i].second.dtype());
    CHECK(f.tensors[i].second.to_vector() == ts[i].second.to_vector());
  }
  CHECK(f.metadata.at("step") == "12");
  // No temporary file is left next to it.
  for (const auto& entry : fs::directory_iterator(fs::path(path).parent_path()))
    CHECK(entry.path().string().find(".tmp.") == std::string::npos);
}

TEST_CASE("safetensors: malformed files get one clear error", "[train][safetensors][errors]") {
  const std::string path = temp_path("bad.safetensors");
  REQUIRE_THROWS_WITH(read_safetensors(temp_path("does-not-exist.safetensors")), Catch::Contains("cannot open"));
  write_bytes(path, "abc");
  REQUIRE_THROWS_WITH(read_safetensors(path), Catch::Contains("shorter"));
  write_bytes(path, with_header("{not json"));
  REQUIRE_THROWS_WITH(read_safetensors(path), Catch::Contains("not JSON"));
  write_bytes(path, std::string("\xff\xff\xff\xff\x00\x00\x00\x00", 8) + "{}");
  REQUIRE_THROWS_WITH(read_safetensors(path), Catch::Contains("header length"));
  write_bytes(path, with_header(R"({"x":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}})", "ab"));
  REQUIRE_THROWS_WITH(read_safetensors(path), Catch::Contains("BF16") && Catch::Contains("allowed"));
  write_bytes(path, with_header(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}})", "12345678"));
  REQUIRE_THROWS_WITH(read_safetensors(path), Catch::Contains("'x'") && Catch::Contains("data_offsets"));
  write_bytes(path, with_header(R"({"x":{"dtype":"F32","shape":[2]}})", "12345678"));
  REQUIRE_THROWS_WITH(read_safetensors(path), Catch::Contains("data_offsets"));
}

TEST_CASE("safetensors: shapes and offsets are bounded by the file before anything is allocated",
          "[train][safetensors][errors]") {
  const std::string path = temp_path("bounds.safetensors");
  // 2^96 elements: the element count wraps to 0 in 64 bits, which matched the
  // empty data_offsets before, and then failed inside the allocator.
  write_bytes(path, with_header(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0]}})"));
  REQUIRE_THROWS_WITH(read_safetensors(path), Catch::Contains("'x'") && Catch::Contains("more elements than any file"));
  // 2^40 elements fit 64 bits but not the file's 8 data bytes.
  write_bytes(path, with_header(R"({"x":{"dtype":"I64","shape":[1099511627776],"data_offsets":[0,8]}})", "12345678"));
  REQUIRE_THROWS_WITH(read_safetensors(path), Catch::Contains("needs more bytes than its data_offsets can hold within the file's 8 data bytes"));
  // Offsets past the end of the data.
  write_bytes(path, with_header(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", "12345678"));
  REQUIRE_THROWS_WITH(read_safetensors(path), Catch::Contains("within 8 data bytes"));
  // A directory is not read as a file of 2^32 bytes.
  REQUIRE_THROWS_WITH(read_safetensors(fs::path(path).parent_path().string()), Catch::Contains("not a regular file"));
  // An empty tensor is valid whatever its other extents claim.
  write_bytes(path, with_header(R"({"x":{"dtype":"I64","shape":[0,3],"data_offsets":[0,0]}})"));
  const SafetensorsFile f = read_safetensors(path);
  CHECK(f.at("x").shape() == Shape{0, 3});
  CHECK(f.at("x").numel() == 0);
}
