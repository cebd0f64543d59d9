// vigilctl proxy and vigilctl encrypt-string: the agent's proxy settings,
// validated as a whole and written in one transaction (nothing half-applied),
// credentials encrypted before they reach the disk.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/paths.h"

namespace vigil {

struct ProxyOptions {
  std::optional<std::string> url;              // /u
  std::optional<std::string> user;             // /n
  std::optional<std::string> password;         // /p
  bool password_stdin = false;                 // the password from stdin: never on a command line
  std::optional<std::string> pac;              // /a
  bool remove = false;                         // /d
  std::optional<std::string> wpad;             // /w
  std::optional<std::string> system;           // /h
  bool show = false;                           // /c
  bool as_json = false;                        // the settings (as --show) as JSON
  std::optional<std::string> direct_fallback;  // /t
  std::optional<std::string> order;
  std::optional<std::string> connect_timeout;
};

// The slash forms operators know from other agents (/u URL, /u:URL, /c, …)
// turned into the long options, for the words after "proxy".
std::vector<std::string> translate_proxy_slash_options(const std::vector<std::string>& args);

// Exit codes: 0 done, 1 could not be done, 2 the options do not make sense.
// A password given alone (no --url, --pac or --user) replaces the stored
// proxy password and keeps everything else.
int run_proxy(const Paths& paths, ProxyOptions options);
// Prints the token for `text` ({"token": …} with `as_json`); reads one line
// from stdin when `text` is empty.
int run_encrypt_string(const Paths& paths, std::optional<std::string> text, bool as_json);

}  // namespace vigil
