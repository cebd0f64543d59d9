// vigilctl proxy and encrypt-string: the proxy settings and the tokens that
// hide credentials in them (the work is in ctl/proxy_command.cpp).
#include "vigilctl/commands/commands.h"
#include "vigilctl/proxy_command.h"

namespace vigil::ctl {

Runner define_proxy(CLI::App& command) {
  auto options = std::make_shared<ProxyOptions>();
  command.add_option("--url", options->url, "Proxy URLs, ';'-separated: http[s]://[user:password@]host:port");
  command.add_option("--user", options->user, "Proxy user name (stored encrypted); needs --url or --pac");
  command.add_option("--password", options->password,
                     "Proxy password (stored encrypted); alone, replaces the stored password");
  command.add_flag("--password-stdin", options->password_stdin,
                   "Read the password from stdin (keeps it out of ps and shell history)");
  command.add_option("--pac", options->pac, "PAC file URL: http://, https:// or file:///");
  command.add_flag("--delete", options->remove, "Delete every proxy setting of the agent");
  command.add_option("--wpad", options->wpad, "on|off: discover a PAC file with WPAD (DNS)");
  command.add_option("--system", options->system, "on|off: use https_proxy/no_proxy of vigild's environment");
  command.add_flag("--show", options->show, "Print the settings, credentials masked");
  command.add_option("--direct-fallback", options->direct_fallback,
                     "on|off: connect directly once every proxy failed (off = fail closed)");
  command.add_option("--order", options->order, "sequential|seq|random: order of the --url list");
  command.add_option("--connect-timeout", options->connect_timeout, "Seconds per connection attempt (1-120)");
  command.add_flag("--json", options->as_json, "Print the settings (as --show does) as one JSON document");
  return [options](const Paths& paths) { return run_proxy(paths, *options); };
}

Runner define_encrypt_string(CLI::App& command) {
  auto text = std::make_shared<std::optional<std::string>>();
  auto as_json = std::make_shared<bool>(false);
  command.add_option("text", *text, "User name or password to encrypt (stdin when omitted: keeps it out of ps)");
  add_json_flag(command, *as_json);
  return [text, as_json](const Paths& paths) { return run_encrypt_string(paths, *text, *as_json); };
}

}  // namespace vigil::ctl
