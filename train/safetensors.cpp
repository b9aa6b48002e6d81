#include "train/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "train/atomic_file.h"

namespace mixlab {

namespace {

using json = nlohmann::json;

const char* safetensors_dtype(DType d) {
  switch (d) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
  }
  return "?";
}

}  // namespace

const Tensor& SafetensorsFile::at(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  throw Error(detail::concat("safetensors: no tensor named '", name, "' (the file has ", tensors.size(),
                             " tensors)"));
}

bool SafetensorsFile::contains(const std::string& name) const {
  for (const auto& entry : tensors)
    if (entry.first == name) return true;
  return false;
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> host;
  size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    MIXLAB_CHECK(!header.contains(name), "write_safetensors ", path, ": duplicate tensor name '", name, "'");
    Tensor h = t.detach().to(Device::cpu());
    header[name] = {{"dtype", safetensors_dtype(h.dtype())}, {"shape", h.shape().vec()},
                    {"data_offsets", {offset, offset + h.nbytes()}}};
    offset += h.nbytes();
    host.push_back(h);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data 8-byte aligned, as the reference writer does
  const uint64_t n = text.size();

  AtomicFile file(path);
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));  // little-endian
  file.write(len, 8);
  file.write(text);
  for (const Tensor& h : host) file.write(h.raw(), h.nbytes());
  file.commit();
}

SafetensorsFile read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MIXLAB_CHECK(in.good(), "cannot open ", path, ": ", std::strerror(errno));
  MIXLAB_CHECK(std::filesystem::is_regular_file(path), "cannot read ", path, ": not a regular file");
  in.seekg(0, std::ios::end);
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  auto bad = [&](const std::string& why) { return Error(path + ": not a valid safetensors file: " + why); };
  if (file_size < 8) throw bad("shorter than its 8-byte header length");
  unsigned char len[8];
  in.read(reinterpret_cast<char*>(len), 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(len[i]) << (8 * i);
  if (n > file_size - 8 || n > (uint64_t(100) << 20)) throw bad("header length " + std::to_string(n) + " exceeds the file");
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  json header;
  try {
    header = json::parse(text);
  } catch (const json::exception& e) {
    throw bad(std::string("header is not JSON (") + e.what() + ")");
  }
  if (!header.is_object()) throw bad("header is not a JSON object");
  const uint64_t data_start = 8 + n, data_size = file_size - data_start;

  SafetensorsFile out;
  struct Entry {
    std::string name;
    DType dtype;
    bool from_i32;
    Shape shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) throw bad("__metadata__ is not an object");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        if (!m.value().is_string()) throw bad("metadata value of '" + m.key() + "' is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const json& t = it.value();
    const std::string where = "tensor '" + it.key() + "': ";
    if (!t.is_object() || !t.contains("dtype") || !t.contains("shape") || !t.contains("data_offsets"))
      throw bad(where + "needs dtype, shape and data_offsets");
    Entry e{it.key(), DType::F32, false, {}, 0, 0};
    const std::string dt = t["dtype"].is_string() ? t["dtype"].get<std::string>() : "?";
    if (dt == "F32") e.dtype = DType::F32;
    else if (dt == "F64") e.dtype = DType::F64;
    else if (dt == "I64") e.dtype = DType::I64;
    else if (dt == "I32") e.dtype = DType::I64, e.from_i32 = true;
    else throw bad(where + "dtype " + dt + " is not supported (allowed: F32, F64, I64, I32)");
    if (!t["shape"].is_array() || t["shape"].size() > static_cast<size_t>(kMaxDims))
      throw bad(where + "shape must be a list of at most " + std::to_string(kMaxDims) + " extents");
    // Bounded before any product can overflow: a header may claim any shape,
    // the file holds what it holds. Nonzero extents multiply to at most 2^62
    // (so Shape::numel never overflows), and the bytes fit the file's data.
    const uint64_t element_bytes = e.from_i32 ? 4 : static_cast<uint64_t>(dtype_size(e.dtype));
    uint64_t nonzero_product = 1;
    bool empty = false;
    for (const json& d : t["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) throw bad(where + "shape has a bad extent");
      const uint64_t extent = d.get<uint64_t>();
      if (extent == 0) empty = true;
      else if (nonzero_product > (uint64_t(1) << 62) / extent)
        throw bad(where + "shape " + t["shape"].dump() + " has more elements than any file can hold");
      else nonzero_product *= extent;
      e.shape.push_back(static_cast<int64_t>(extent));
    }
    if (!empty && nonzero_product > data_size / element_bytes)
      throw bad(where + "shape " + e.shape.str() + " needs more bytes than its data_offsets can hold within the " +
                "file's " + std::to_string(data_size) + " data bytes");
    const uint64_t bytes = empty ? 0 : nonzero_product * element_bytes;
    const json& off = t["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw bad(where + "data_offsets must be [begin, end]");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.end < e.begin || e.end > data_size || e.end - e.begin != bytes)
      throw bad(where + "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                "] do not match its shape and dtype within " + std::to_string(data_size) + " data bytes");
    entries.push_back(e);
  }
  // JSON objects are unordered; keep the tensors in the order of their data.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    in.seekg(static_cast<std::streamoff>(data_start + e.begin));
    if (e.from_i32) {
      std::vector<int32_t> buf(static_cast<size_t>(e.shape.numel()));
      in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size() * 4));
      int64_t* dst = t.data<int64_t>();
      for (size_t i = 0; i < buf.size(); ++i) dst[i] = buf[i];
    } else {
      in.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
    }
    if (!in.good() && e.end > e.begin) throw bad("tensor '" + e.name + "' could not be read");
    out.tensors.emplace_back(e.name, t);
  }
  return out;
}

}  // namespace mixlab
