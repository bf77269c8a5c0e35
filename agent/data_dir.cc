#include "agent/data_dir.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <system_error>

namespace cairn::agent {
namespace fs = std::filesystem;

StatusOr<DataDir> DataDir::prepare(const std::string& path, bool dev) {
  std::error_code ec;
  if (path.empty()) {
    if (!dev) return invalidArgument("data_dir is required (set -data-dir, or use -dev)");
    std::string pattern = (fs::temp_directory_path(ec) / "cairn-dev-XXXXXX").string();
    if (!mkdtemp(pattern.data())) return internalError("creating a temporary data dir failed");
    return DataDir(pattern, true);
  }
  fs::create_directories(path, ec);
  if (ec) return internalError("creating data dir " + path + ": " + ec.message());
  return DataDir(fs::absolute(path).string(), false);
}

DataDir::DataDir(DataDir&& other) noexcept
    : path_(std::move(other.path_)), temporary_(other.temporary_) {
  other.temporary_ = false;
}

DataDir::~DataDir() { removeIfTemporary(); }

void DataDir::removeIfTemporary() {
  std::error_code ec;
  if (temporary_) fs::remove_all(path_, ec);
  temporary_ = false;
}

bool DataDir::hasNodeId() const {
  std::error_code ec;
  return fs::exists(fs::path(path_) / "node-id", ec);
}

StatusOr<std::string> DataDir::nodeId() const {
  fs::path file = fs::path(path_) / "node-id";
  std::ifstream in(file);
  std::string id;
  if (in && std::getline(in, id) && id.size() == 36) return id;
  std::random_device rd;
  unsigned char b[16];
  for (auto& byte : b) byte = static_cast<unsigned char>(rd());
  b[6] = (b[6] & 0x0f) | 0x40;  // version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof text,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  std::ofstream out(file, std::ios::trunc);
  out << text << "\n";
  if (!out.flush()) {
    int err = errno;
    return internalError(std::string(err == ENOSPC ? "disk full: " : "") + "writing " +
                         file.string() + ": " + std::strerror(err));
  }
  return std::string(text);
}

}  // namespace cairn::agent
