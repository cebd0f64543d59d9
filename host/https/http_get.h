// Fetches small documents the link needs before it can reach the platform
// (PAC files): http://, https:// (verified like the platform) or file:///.
// Always direct, never through a proxy; 200 only, no redirects, bounded size.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "vigil/result/result.h"

namespace vigil::link {

struct FetchOptions {
  std::shared_ptr<boost::asio::ssl::context> tls;  // for https:// (required then)
  std::chrono::milliseconds timeout{5000};         // for the whole fetch
  size_t max_bytes = 1 << 20;
  // Connect here instead of resolving the URL's host (WPAD found it already).
  std::optional<std::string> connect_address;
};

Result<std::string> fetch_document(std::string_view url, const FetchOptions& options);

}  // namespace vigil::link
