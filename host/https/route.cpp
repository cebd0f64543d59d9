#include "https/route.h"

#include "vigil/net/wire.h"

namespace vigil::link {

std::string ProxyHop::display() const {
  return std::string(tls ? "https://" : "http://") + wire::HostPort{host, port}.to_string();
}

std::string Route::display() const {
  if (!proxy) return "direct";
  return "proxy " + proxy->display() + (source.empty() ? "" : " (" + source + ")");
}

}  // namespace vigil::link
