#pragma once
// The state image format (proto/cairn/v1/state_image.proto): what a snapshot holds, and the checks
// every reader runs before trusting one. An image that passes parseStateImage() can be written
// into the state store without further checks. Thread-safe (pure functions).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cairn/v1/state_image.pb.h"
#include "core/base/status.h"

namespace cairn::store {

inline constexpr std::string_view kStateImageFormat = "cairn.v1.StateImage";
inline constexpr uint32_t kStateImageVersion = 1;
// Largest image accepted (after decompression). Protobuf cannot parse messages of 2 GiB or more.
inline constexpr size_t kMaxStateImageBytes = size_t{1} << 30;

// Parses and validates a serialized image. Errors (kInvalidArgument) say what is wrong: not an
// image, an unsupported version, keys out of order or duplicated, a key both live and deleted,
// an index above the image's applied index, a reserved or repeated table index name.
StatusOr<v1::StateImage> parseStateImage(std::string_view bytes);

// The serialized image in a snapshot body as GET /v1/snapshot serves it (gzip), or in a raw
// image, after parseStateImage() accepted it; *applied_index (if given) is its applied index.
// Errors: corrupt gzip (kInvalidArgument), content above kMaxStateImageBytes (kTooLarge), and
// everything parseStateImage() rejects.
StatusOr<std::string> decodeSnapshot(std::string_view body, uint64_t* applied_index = nullptr);

}  // namespace cairn::store
