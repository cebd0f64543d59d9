// admin profile-set, manifest-set, package-set: what agents are given.
#include <elf.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string_view>

#include "admin.h"
#include "service.h"
#include "update_repository.h"
#include "vigil/advisories/manifest.h"
#include "vigil/crypto/digest.h"
#include "vigil/elf/elf_file.h"
#include "vigil/fim_manifest/manifest.h"
#include "vigil/inventory/manifest.h"
#include "vigil/plugin.h"
#include "vigil/policy/policy.h"
#include "vigil/vm_rules/rules.h"

namespace vigil::platform::admin {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kReadableTypes = "inv, vm, vm-advisories, fim, pc, sca, udc";

// A profile sets values only for modules an agent can have: the built-in
// ones and those the platform knows of (a published manifest, a module an
// activation key activates). A typo would otherwise be ignored by every agent.
void check_profile_modules(PlatformStore& store, const json& body) {
  std::set<std::string> known = {"inv", "vm", "pc", "udc", "sca", "fim", "pm", "edr"};
  for (const auto& manifest : store.manifest_versions()) known.insert(manifest.module);
  for (const auto& key : store.keys()) known.insert(key.modules.begin(), key.modules.end());
  for (const char* field : {"scan_interval", "cpu_limit", "plugin_pins"}) {
    if (!body.contains(field)) continue;
    for (const auto& [module, value] : body.at(field).items()) {
      if (known.count(module) > 0) continue;
      std::string names;
      for (const auto& name : known) names += (names.empty() ? "" : ", ") + name;
      throw std::invalid_argument(std::string("profile field '") + field + "': unknown module '" + module +
                                  "' (known: " + names + ")");
    }
  }
}

// What the agent will do with the file: dlopen it on a machine of `arch`,
// call its entry point, unload it at the next upgrade. A file that cannot
// do all three would fail on every agent, after the download.
void check_plugin_file(std::string_view bytes, const std::string& arch) {
  auto refuse = [](const std::string& why) { throw std::invalid_argument("not a plugin the agent can load: " + why); };
  Result<elf::ElfFile> read = elf::ElfFile::read(bytes);
  if (!read.ok()) refuse(read.error());
  const elf::ElfFile& file = read.value();
  if (file.type() != ET_DYN) refuse("not a shared library (ELF type " + std::to_string(file.type()) + ")");
  std::optional<uint16_t> machine = elf::machine_of_arch(arch);
  if (!machine) throw std::invalid_argument("--arch '" + arch + "': an architecture this platform does not know");
  if (file.machine() != *machine) {
    refuse("built for " + elf::machine_name(file.machine()) + ", published for " + arch);
  }
  auto symbols = file.dynamic_symbols();
  bool entry = std::any_of(symbols.begin(), symbols.end(), [](const elf::DynamicSymbol& symbol) {
    return symbol.name == VIGIL_ENTRY_SYMBOL && symbol.defined && symbol.type == STT_FUNC &&
           (symbol.binding == STB_GLOBAL || symbol.binding == STB_WEAK) && symbol.visibility == STV_DEFAULT;
  });
  if (!entry) refuse("it exports no " VIGIL_ENTRY_SYMBOL " function (build it with the SDK's vigil_add_plugin)");
  if (std::string blocker = elf::unload_blocker(file); !blocker.empty()) {
    refuse("the agent could not unload it, so an upgrade would keep running its code: " + blocker);
  }
}

}  // namespace

Runner define_profile_set(CLI::App& command) {
  struct Options {
    std::string name, file, key_id;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  command.add_option("--name", options->name)->required();
  command
      .add_option("--file", options->file,
                  "JSON: checkin_interval, scan_interval, cpu_limit, blackout_windows, log_level, auto_upgrade, "
                  "plugin_pins, upgrade_window, self_protection")
      ->required()
      ->check(CLI::ExistingFile);
  command.add_option("--key", options->key_id, "also make it the profile of this activation key");
  command.add_flag("--json", options->json, "print {\"profile\", \"key\"} instead of a sentence");
  return [options](const fs::path& data) {
    PlatformStore store = open_store(data);
    json body;
    try {
      body = json::parse(read_file(options->file));
      profile_message(options->name, body);  // validates
      check_profile_modules(store, body);
    } catch (const std::exception& error) {
      throw std::runtime_error("profile " + options->file + ": " + error.what());
    }
    sqlite::Transaction transaction(store.db());
    store.put_profile(options->name, body);
    if (!options->key_id.empty()) {
      ActivationKey key = require_key(store, options->key_id);
      key.profile = options->name;
      store.put_key(key);
    }
    transaction.commit();
    if (options->json) {
      std::cout << json{{"profile", options->name}, {"key", options->key_id}}.dump() << "\n";
    } else {
      std::cout << "profile " << options->name << " saved\n";
    }
  };
}

Runner define_manifest_set(CLI::App& command) {
  struct Options {
    std::string module, type, file, version;
    bool check = false, json = false;
  };
  auto options = std::make_shared<Options>();
  command.add_option("--module", options->module, "the module the manifest is for")->required();
  command.add_option("--type", options->type, "manifest type (default: the module name)");
  command.add_option("--file", options->file, "the manifest")->required()->check(CLI::ExistingFile);
  command.add_option("--version", options->version, "default: a digest of the content");
  command.add_flag("--check", options->check, "check the manifest as the module would read it; publish nothing");
  command.add_flag("--json", options->json,
                   "with --check: print {\"file\", \"type\", \"valid\"} (otherwise JSON already)");
  command.footer(
      "A manifest of a type the platform can read (inv, vm, fim, pc, sca, udc) is checked with the module's own parser "
      "and\n"
      "refused naming the line; other types are checked by the agent, whose failure shows in admin agents "
      "(last_scan).\n"
      "Example: vigil-platform admin manifest-set --module fim --file fim.yaml --check");
  return [options](const fs::path& data) {
    std::string body = read_file(options->file);
    if (body.empty()) throw std::runtime_error(options->file + ": empty, not a manifest");
    std::string type = options->type.empty() ? options->module : options->type;
    // The module's own parser: a manifest the module would refuse is refused here, naming the line.
    bool checked = type == "fim" || type == "pc" || type == "sca" || type == "udc" || type == "inv" || type == "vm" ||
                   type == "vm-advisories";
    try {
      if (type == "fim") (void)fim::parse_manifest(body);
      if (type == "pc" || type == "sca" || type == "udc") (void)policy::parse_policies(body, type + " manifest");
      if (type == "inv") (void)inventory::parse_manifest(body);
      if (type == "vm") (void)vm::parse_rules(body);
      if (type == "vm-advisories") {
        (void)advisories::read_manifest(
            body, [](std::string_view, bool, std::string_view) { return false; }, [](advisories::Advisory&&) {});
      }
    } catch (const std::exception& error) {
      throw std::runtime_error(options->file + ": " + error.what());
    }
    if (options->check) {
      if (!checked) {
        throw std::runtime_error("the platform cannot read manifests of type '" + type +
                                 "' (it reads: " + kReadableTypes + "); the agent checks it when it scans");
      }
      if (options->json) {
        std::cout << json{{"file", options->file}, {"type", type}, {"valid", true}}.dump() << "\n";
      } else {
        std::cout << options->file << ": a valid " << type << " manifest\n";
      }
      return;
    }
    PlatformStore store = open_store(data);
    std::string version = options->version.empty() ? crypto::sha256_hex(body).substr(0, 12) : options->version;
    store.put_manifest({options->module, type, version, body});
    std::cout << json{{"module", options->module}, {"manifest_type", type}, {"version", version}}.dump() << "\n";
  };
}

Runner define_package_set(CLI::App& command) {
  struct Options {
    std::string module, file, version, arch;
  };
  auto options = std::make_shared<Options>();
  command.add_option("--module", options->module)->required();
  command.add_option("--file", options->file, "the plugin's shared library")->required()->check(CLI::ExistingFile);
  command.add_option("--version", options->version)->required();
  command.add_option("--arch", options->arch, "the machines it is for, as uname -m says (default: this machine's)");
  command.footer("The file is checked first: a 64-bit ELF shared library for --arch that exports " VIGIL_ENTRY_SYMBOL
                 " and that\nthe agent can unload again; anything else is refused naming why, before it is signed.\n"
                 "Example: vigil-platform admin package-set --module fim --file libvigil_fim.so --version 1.4.0");
  return [options](const fs::path& data) {
    std::string arch = options->arch.empty() ? machine_arch() : options->arch;
    std::string bytes = read_file(options->file);
    try {
      check_plugin_file(bytes, arch);
    } catch (const std::exception& error) {
      throw std::runtime_error(options->file + ": " + error.what());
    }
    PlatformStore store = open_store(data);
    UpdateRepository updates(store.db(), signing_key_dir(data));
    PluginFile file = updates.publish_plugin(options->module, arch, options->version, bytes, unix_time());
    store.bump_generation();
    std::cout << json{{"module", file.module},
                      {"version", file.version},
                      {"arch", file.arch},
                      {"sha256", file.sha256},
                      {"length", file.length},
                      {"target", file.path},
                      {"targets_version", updates.version(tuf::Role::kTargets)}}
                     .dump()
              << "\n";
  };
}

}  // namespace vigil::platform::admin
