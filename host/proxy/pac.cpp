#include "proxy/pac.h"

#include "exec/command_runner.h"
#include "vigil/text/text.h"

namespace vigil::proxy {
Result<std::vector<PacDirective>> parse_pac_result(std::string_view result) {
  std::vector<PacDirective> directives;
  size_t count = 0;
  for (size_t start = 0; start <= result.size();) {
    size_t end = result.find(';', start);
    std::string_view entry =
        trim(result.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    start = end == std::string_view::npos ? result.size() + 1 : end + 1;
    if (entry.empty()) continue;
    if (++count > 64) return Error{"the PAC returned more than 64 entries"};
    size_t space = entry.find_first_of(" \t");
    std::string keyword = to_upper(entry.substr(0, space));
    std::string_view argument = space == std::string_view::npos ? std::string_view() : trim(entry.substr(space));
    PacDirective directive;
    directive.text = std::string(entry);
    if (keyword == "DIRECT") {
      if (!argument.empty()) return Error{"the PAC returned 'DIRECT' with an argument: '" + directive.text + "'"};
      directive.kind = PacDirective::Kind::kDirect;
    } else if (keyword == "PROXY" || keyword == "HTTP" || keyword == "HTTPS") {
      directive.kind = PacDirective::Kind::kProxy;
      directive.tls = keyword == "HTTPS";
      auto address = wire::parse_host_port(argument, directive.tls ? 443 : 80);
      if (!address.ok()) return Error{"the PAC returned '" + directive.text + "': " + address.error()};
      directive.address = std::move(address.value());
    } else if (keyword == "SOCKS" || keyword == "SOCKS4" || keyword == "SOCKS5") {
      directive.kind = PacDirective::Kind::kUnsupported;
    } else {
      return Error{"the PAC returned '" + directive.text +
                   "': expected DIRECT, PROXY host:port, HTTPS host:port or SOCKS host:port"};
    }
    directives.push_back(std::move(directive));
  }
  if (directives.empty()) directives.push_back(PacDirective{PacDirective::Kind::kDirect, false, {}, "DIRECT"});
  return directives;
}

Result<std::string> run_pac(const std::filesystem::path& helper, const std::filesystem::path& script_file,
                            const std::string& url, const std::string& host, const std::string& my_ip,
                            std::chrono::milliseconds timeout) {
  CommandRequest request;
  request.argv = {helper.string(), script_file.string(), url, host, my_ip};
  request.timeout = timeout;
  request.timeout_setting = "PacTimeout";
  std::string output;
  std::string errors;
  request.on_output = [&](std::string_view chunk) {
    if (output.size() < 64 * 1024) output.append(chunk);
  };
  request.on_error_line = [&](std::string_view line) {
    if (errors.size() < 1024) errors += (errors.empty() ? "" : " ") + std::string(line);
  };
  CommandOutcome outcome = run_command(request);
  if (!outcome.status.ok()) {
    if (outcome.status.code() == ErrorCode::kTimedOut) {
      return Error{"the PAC script did not finish within its time limit"};
    }
    return outcome.status.failure();
  }
  if (outcome.exit_code != 0) {
    return Error{errors.empty() ? "the PAC evaluator failed (exit " + std::to_string(outcome.exit_code) + ")" : errors};
  }
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  return output;
}

}  // namespace vigil::proxy
