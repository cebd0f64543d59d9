#include "vigilctl/proxy_command.h"

#include <cctype>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "control_socket/control_client.h"
#include "proxy/proxy_settings.h"
#include "proxy/proxy_url.h"
#include "proxy/secret_box.h"
#include "store/config_table.h"
#include "store/state_store.h"

namespace vigil {
namespace {

namespace keys = proxy::keys;
constexpr int kUsage = 2;
constexpr int kFailed = 1;

int usage(const std::string& message) {
  std::cerr << "vigilctl: proxy: " << message << "\n";
  return kUsage;
}

int failed(const std::string& message) {
  std::cerr << "vigilctl: proxy: " << message << "\n";
  return kFailed;
}

std::filesystem::path key_file(const Paths& paths) {
  return paths.config_dir / "secret.key";
}

// Plain credentials become tokens; tokens must open with this machine's key.
Result<std::string> seal_credentials(const std::vector<proxy::ProxyUrl>& proxies, const Paths& paths) {
  std::optional<proxy::SecretBox> box;
  std::vector<proxy::ProxyUrl> sealed = proxies;
  for (size_t i = 0; i < sealed.size(); ++i) {
    for (auto* credential : {&sealed[i].user, &sealed[i].password}) {
      if (!*credential) continue;
      if (!box) {
        auto loaded = proxy::SecretBox::load_or_create(key_file(paths));
        if (!loaded.ok()) return Error{loaded.error()};
        box.emplace(std::move(loaded.value()));
      }
      if ((*credential)->encrypted) {
        auto opened = box->open((*credential)->text);
        if (!opened.ok())
          return Error{"proxy " + std::to_string(i + 1) + " (" + sealed[i].display() + "): " + opened.error()};
      } else {
        **credential = proxy::Credential{box->seal((*credential)->text), true};
      }
    }
  }
  return proxy::format_proxy_list(sealed);
}

std::string masked_list(const std::string& stored) {
  auto proxies = proxy::parse_proxy_list(stored);
  if (!proxies.ok()) return "(invalid: " + proxies.error() + ")";
  std::string out;
  for (const auto& entry : proxies.value()) {
    out += (out.empty() ? "" : ";") + std::string(entry.tls ? "https://" : "http://") + (entry.user ? "***@" : "") +
           entry.address.to_string();
  }
  return out;
}

// The settings, credentials masked, as JSON: what --show prints.
nlohmann::json settings_json(const Paths& paths, StateStore& store) {
  auto get = [&](const char* key) {
    auto value = store.config().get(key);
    return value.ok() && value.value() ? *value.value() : std::string();
  };
  auto or_default = [](const std::string& value, const char* fallback) {
    return value.empty() ? std::string(fallback) : value;
  };
  auto or_null = [](const std::string& value) { return value.empty() ? nlohmann::json() : nlohmann::json(value); };
  auto masked = [](const std::string& list) {
    return list.empty() ? nlohmann::json() : nlohmann::json(masked_list(list));
  };
  nlohmann::json shown = {{"urls", masked(get(keys::kUrls))},
                          {"order", or_default(get(keys::kOrder), "sequential")},
                          {"pac", or_null(get(keys::kPac))},
                          {"credentials", !get(keys::kUser).empty()},
                          {"wpad", or_default(get(keys::kWpad), "off")},
                          {"system", or_default(get(keys::kSystem), "on")},
                          {"direct_fallback", or_default(get(keys::kDirectFallback), "on")},
                          {"connect_timeout", or_default(get(keys::kConnectTimeout), "3")}};
  nlohmann::json& proxy_file = shown["proxy_file"] = {{"path", (paths.config_dir / "proxy").string()}};
  if (auto file = proxy::read_proxy_file(paths.config_dir / "proxy"); !file.ok()) {
    proxy_file["error"] = file.error();
  } else {
    proxy_file.update({{"vigil_https_proxy", masked(file->vigil_https_proxy)},
                       {"https_proxy", masked(file->https_proxy)},
                       {"no_proxy", or_null(file->no_proxy)}});
  }
  auto settings = proxy::ProxySettings::read([&](const char* key) -> std::optional<std::string> { return get(key); });
  shown["problem"] = settings.ok() ? nlohmann::json() : nlohmann::json(settings.error());
  return shown;
}

// Prints the settings (JSON with `as_json`); 1 when they do not make sense together.
int show(const Paths& paths, bool as_json) {
  auto store = StateStore::open(paths.state_db());
  if (!store.ok()) return failed(store.error());
  nlohmann::json shown = settings_json(paths, *store.value());
  auto text = [](const nlohmann::json& value, const char* none) {
    return value.is_null() ? std::string(none) : value.get<std::string>();
  };
  if (as_json) {
    std::cout << shown.dump(2) << "\n";
  } else {
    std::cout << "Proxy URLs:       " << text(shown["urls"], "(none)") << "\n";
    std::cout << "Proxy order:      " << text(shown["order"], "") << "\n";
    std::cout << "PAC URL:          " << text(shown["pac"], "(none)") << "\n";
    std::cout << "Credentials:      "
              << (shown["credentials"].get<bool>() ? "user and password set, encrypted" : "(none)") << "\n";
    std::cout << "WPAD:             " << text(shown["wpad"], "") << "\n";
    std::cout << "System proxy:     " << text(shown["system"], "") << "\n";
    std::cout << "Direct fallback:  " << text(shown["direct_fallback"], "") << "\n";
    std::cout << "Connect timeout:  " << text(shown["connect_timeout"], "") << " s\n";
    const nlohmann::json& file = shown["proxy_file"];
    std::cout << "Proxy file:       " << text(file["path"], "");
    if (file.contains("error")) {
      std::cout << " (invalid: " << text(file["error"], "") << ")\n";
    } else if (file["vigil_https_proxy"].is_null() && file["https_proxy"].is_null() && file["no_proxy"].is_null()) {
      std::cout << " (none)\n";
    } else {
      std::cout << "\n";
      for (const char* name : {"vigil_https_proxy", "https_proxy", "no_proxy"}) {
        if (!file[name].is_null()) std::cout << "  " << name << "=" << text(file[name], "") << "\n";
      }
    }
    if (!shown["problem"].is_null()) std::cout << "Problem:          " << text(shown["problem"], "") << "\n";
  }
  if (!shown["problem"].is_null()) {
    if (as_json) std::cerr << "vigilctl: proxy: " << text(shown["problem"], "") << "\n";
    return kFailed;
  }
  return 0;
}

}  // namespace

std::vector<std::string> translate_proxy_slash_options(const std::vector<std::string>& args) {
  static const std::map<char, std::string> names = {{'u', "--url"},    {'n', "--user"},   {'p', "--password"},
                                                    {'a', "--pac"},    {'d', "--delete"}, {'w', "--wpad"},
                                                    {'h', "--system"}, {'c', "--show"},   {'t', "--direct-fallback"}};
  std::vector<std::string> out;
  for (const auto& arg : args) {
    bool slash = arg.size() >= 2 && arg[0] == '/' && (arg.size() == 2 || arg[2] == ':');
    auto found = slash ? names.find(static_cast<char>(std::tolower(static_cast<unsigned char>(arg[1])))) : names.end();
    if (found == names.end()) {
      out.push_back(arg);
      continue;
    }
    out.push_back(found->second);
    if (arg.size() > 3) out.push_back(arg.substr(3));
  }
  return out;
}

// The stored settings with only the password replaced: ProxyPassword when a
// separate ProxyUser is set, else the password of the one proxy URL that
// carries credentials.
int replace_password(const Paths& paths, const std::string& password) {
  auto store = StateStore::open(paths.state_db());
  if (!store.ok()) return failed(store.error());
  auto read = [&](const char* key) {
    auto value = store.value()->config().get(key);
    return value.ok() && value.value() ? *value.value() : std::string();
  };
  auto box = proxy::SecretBox::load_or_create(key_file(paths));
  if (!box.ok()) return failed(box.error());
  std::vector<std::pair<std::string, std::optional<std::string>>> writes;
  if (!read(keys::kUser).empty()) {
    writes.emplace_back(keys::kPassword, "#" + box->seal(password));
  } else {
    auto proxies = proxy::parse_proxy_list(read(keys::kUrls));
    if (!proxies.ok()) return failed("the stored proxy list: " + proxies.error());
    std::vector<proxy::ProxyUrl*> with_user;
    for (auto& entry : proxies.value()) {
      if (entry.user) with_user.push_back(&entry);
    }
    if (with_user.size() != 1) {
      return usage(with_user.empty() ? "no proxy user is set: give --url with the user, or --user"
                                     : "several proxies carry credentials: give the whole --url list");
    }
    with_user.front()->password = proxy::Credential{box->seal(password), true};
    writes.emplace_back(keys::kUrls, proxy::format_proxy_list(proxies.value()));
  }
  if (Status saved = store.value()->config().update(writes); !saved.ok()) return failed(saved.error());
  if (daemon_running(paths.control_socket())) (void)call_daemon(paths.control_socket(), {{"command", "link_changed"}});
  return 0;
}

int run_proxy(const Paths& paths, ProxyOptions options) {
  if (options.password_stdin) {
    if (options.password) return usage("--password and --password-stdin exclude each other");
    std::string line;
    if (!std::getline(std::cin, line)) return usage("--password-stdin: nothing on stdin");
    if (!line.empty() && line.back() == '\r') line.pop_back();
    options.password = line;
  }
  if (options.password && !options.user && !options.url && !options.pac) {
    if (options.password->empty()) return usage("the password is empty");
    bool others = options.remove || options.wpad || options.system || options.direct_fallback || options.order ||
                  options.connect_timeout;
    if (others) return usage("a password given alone replaces the stored one; give other settings separately");
    if (int replaced = replace_password(paths, *options.password); replaced != 0) return replaced;
    if (!options.as_json) std::cout << "proxy password replaced\n";
    return options.show || options.as_json ? show(paths, options.as_json) : 0;
  }
  bool changes = options.url || options.user || options.password || options.pac || options.wpad || options.system ||
                 options.direct_fallback || options.order || options.connect_timeout;
  if (!changes && !options.remove && !options.show && !options.as_json) {
    return usage("nothing to do: give --url, --pac, --wpad, --system, --direct-fallback, --show or --delete");
  }
  if (options.remove && changes) return usage("--delete (/d) cannot be combined with settings");
  if (options.url && options.pac) return usage("--url (/u) and --pac (/a) exclude each other");
  if ((options.user || options.password) && !options.url && !options.pac) {
    return usage("--user (/n) and --password (/p) need --url (/u) or --pac (/a) in the same command");
  }
  if (options.password && !options.user) return usage("--password (/p) needs --user (/n)");
  if (options.user && options.user->empty()) return usage("--user (/n) is empty");

  std::vector<std::pair<std::string, std::optional<std::string>>> writes;
  if (options.remove) {
    for (const char* key : proxy::all_keys()) writes.emplace_back(key, std::nullopt);
  }
  std::vector<proxy::ProxyUrl> proxies;
  if (options.url) {
    auto parsed = proxy::parse_proxy_list(*options.url);
    if (!parsed.ok()) return usage(parsed.error());
    proxies = std::move(parsed.value());
  }
  if (options.pac) {
    if (Status valid = proxy::check_pac_url(*options.pac); !valid.ok()) return usage(valid.error());
  }
  struct Check {
    const std::optional<std::string>& value;
    const char* key;
    std::function<Status(const std::string&)> valid;
  };
  auto switch_check = [](const char* key) {
    return [key](const std::string& value) -> Status {
      auto parsed = proxy::parse_switch(key, value);
      return parsed.ok() ? Status::Ok() : Status(Error{parsed.error()});
    };
  };
  std::vector<Check> checks = {{options.wpad, keys::kWpad, switch_check(keys::kWpad)},
                               {options.system, keys::kSystem, switch_check(keys::kSystem)},
                               {options.direct_fallback, keys::kDirectFallback, switch_check(keys::kDirectFallback)},
                               {options.order, keys::kOrder,
                                [](const std::string& value) -> Status {
                                  auto parsed = proxy::parse_order(value);
                                  return parsed.ok() ? Status::Ok() : Status(Error{parsed.error()});
                                }},
                               {options.connect_timeout, keys::kConnectTimeout, [](const std::string& value) -> Status {
                                  auto parsed = proxy::parse_connect_timeout(value);
                                  return parsed.ok() ? Status::Ok() : Status(Error{parsed.error()});
                                }}};
  for (const auto& check : checks) {
    if (!check.value) continue;
    if (Status valid = check.valid(*check.value); !valid.ok()) return usage(valid.error());
    writes.emplace_back(check.key, *check.value);
  }

  // Everything is valid: now the secrets (which may create the key file).
  if (options.url) {
    auto stored = seal_credentials(proxies, paths);
    if (!stored.ok()) return failed(stored.error());
    writes.emplace_back(keys::kUrls, stored.value());
    writes.emplace_back(keys::kPac, std::nullopt);
  }
  if (options.pac) {
    writes.emplace_back(keys::kPac, *options.pac);
    writes.emplace_back(keys::kUrls, std::nullopt);
  }
  if (options.url || options.pac) {
    // Credentials belong to the URL list or PAC given with them.
    writes.emplace_back(keys::kUser, std::nullopt);
    writes.emplace_back(keys::kPassword, std::nullopt);
    if (options.user) {
      auto box = proxy::SecretBox::load_or_create(key_file(paths));
      if (!box.ok()) return failed(box.error());
      writes.back() = {keys::kPassword, "#" + box->seal(options.password.value_or(""))};
      writes.emplace_back(keys::kUser, "#" + box->seal(*options.user));
    }
  }

  if (!writes.empty()) {
    auto store = StateStore::open(paths.state_db());
    if (!store.ok()) return failed(store.error());
    if (Status saved = store.value()->config().update(writes); !saved.ok()) return failed(saved.error());
    if (!options.as_json) std::cout << (options.remove ? "proxy settings deleted" : "proxy settings saved") << "\n";
    if (daemon_running(paths.control_socket())) {
      // The next connection uses them; have it happen now.
      (void)call_daemon(paths.control_socket(), {{"command", "link_changed"}});
    }
  }
  if (options.show || options.as_json) return show(paths, options.as_json);
  return 0;
}

int run_encrypt_string(const Paths& paths, std::optional<std::string> text, bool as_json) {
  if (!text) {
    std::string line;
    if (!std::getline(std::cin, line)) return failed("encrypt-string: nothing on stdin");
    text = line;
  }
  if (text->empty()) {
    std::cerr << "vigilctl: encrypt-string: the text is empty\n";
    return kUsage;
  }
  auto box = proxy::SecretBox::load_or_create(key_file(paths));
  if (!box.ok()) {
    std::cerr << "vigilctl: encrypt-string: " << box.error() << "\n";
    return kFailed;
  }
  if (as_json) {
    std::cout << nlohmann::json{{"token", box->seal(*text)}}.dump(2) << "\n";
  } else {
    std::cout << box->seal(*text) << "\n";
  }
  return 0;
}

}  // namespace vigil
