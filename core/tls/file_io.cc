#include "core/tls/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace cairn::tls {

Status writeFile(const std::string& path, const std::string& data, mode_t mode, bool exclusive) {
  std::string target = exclusive ? path : path + ".tmp";
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
  int fd = ::open(target.c_str(), flags, mode);
  if (fd < 0) return invalidArgument(target + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      return internalError(target + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  if (!exclusive && ::rename(target.c_str(), path.c_str()) != 0) {
    return internalError(path + ": " + std::strerror(errno));
  }
  return Status::ok();
}

}  // namespace cairn::tls
