#pragma once
// The agent's data directory: creation, the temporary one of -dev, the persistent node ID.

#include <string>

#include "core/base/status.h"

namespace cairn::agent {

class DataDir {
 public:
  // Uses `path`, or when it is empty and `dev` is set, a fresh temporary directory that is
  // removed again when this object is destroyed.
  static StatusOr<DataDir> prepare(const std::string& path, bool dev);
  DataDir(DataDir&& other) noexcept;
  DataDir& operator=(DataDir&&) = delete;
  ~DataDir();

  const std::string& path() const { return path_; }
  // Removes the directory now if it is the temporary one of -dev.
  void removeIfTemporary();
  // Whether the directory already has a node ID (it was used before): its database must exist.
  bool hasNodeId() const;
  // A UUID created on first use and stored in the directory, so it survives restarts.
  StatusOr<std::string> nodeId() const;

 private:
  DataDir(std::string path, bool temporary) : path_(std::move(path)), temporary_(temporary) {}
  std::string path_;
  bool temporary_ = false;
};

}  // namespace cairn::agent
