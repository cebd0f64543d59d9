#include "link/update_check.h"

#include <sys/utsname.h>

#include <fmt/format.h>

#include <algorithm>

#include "link/plugin_download.h"
#include "store/plugin_slots.h"
#include "store/update_metadata.h"
#include "vigil/agent/v1/agent.pb.h"
#include "vigil/tuf/trusted_set.h"
#include "vigil/tuf/updater.h"

namespace vigil {

namespace {

using tuf::Role;
namespace v1 = ::vigil::agent::v1;

// Trusted metadata in the state store.
class StoredMetadataAdapter : public tuf::TrustedStore {
 public:
  explicit StoredMetadataAdapter(UpdateMetadata& table) : table_(table) {}
  Result<std::optional<std::string>> load(Role role) override { return table_.load(tuf::role_name(role)); }
  Status save(Role role, int64_t version, int64_t expires, const std::string& bytes) override {
    return table_.save(tuf::role_name(role), version, expires, bytes);
  }
  Status erase(Role role) override { return table_.erase(tuf::role_name(role)); }

 private:
  UpdateMetadata& table_;
};

// The platform's /v1/update-metadata on the link's connection.
class PlatformFetcher : public tuf::Fetcher {
 public:
  PlatformFetcher(PlatformConnection& connection, const LinkSettings& settings)
      : connection_(connection), settings_(settings) {}
  Result<std::string> fetch(Role role, std::optional<int64_t> version, size_t max_bytes) override {
    v1::UpdateMetadataRequest request;
    request.set_protocol(v1::PROTOCOL_1);
    request.set_agent_id(settings_.agent_id);
    request.set_agent_token(settings_.agent_token);
    request.set_role(tuf::role_name(role));
    request.set_version(static_cast<uint64_t>(version.value_or(0)));
    auto reply = connection_.post<v1::UpdateMetadataResponse>(PlatformConnection::Channel::kLink, "/v1/update-metadata",
                                                              request, "update metadata");
    if (!reply.ok()) return reply.failure();
    // The updater refuses what is longer; more is never kept.
    std::string metadata = std::move(*reply.value().mutable_metadata());
    fetched_bytes += static_cast<int64_t>(metadata.size());
    if (metadata.size() > max_bytes) metadata.resize(max_bytes + 1);
    return metadata;
  }

  int64_t fetched_bytes = 0;  // the metadata received, for the upgrade it leads to

 private:
  PlatformConnection& connection_;
  const LinkSettings& settings_;
};

// "3 days", or hours below a day.
std::string duration(int64_t seconds) {
  bool in_days = seconds >= 86'400;
  int64_t whole = in_days ? seconds / 86'400 : seconds / 3'600;
  return std::to_string(whole) + (in_days ? (whole == 1 ? " day" : " days") : (whole == 1 ? " hour" : " hours"));
}

}  // namespace

Status UpdateCheck::pin_root(const std::string& root, bool replace) {
  UpdateMetadata& table = store_.update_metadata();
  Result<std::optional<std::string>> pinned = table.load(tuf::role_name(Role::kRoot));
  if (!pinned) return pinned.failure();
  if (*pinned && !replace) return Status::Ok();  // a re-provisioning never replaces the pin
  Result<tuf::TrustedSet> verified = tuf::TrustedSet::create(root, link::unix_now());
  if (!verified) return Error{"the platform's update root is not pinned: " + verified.error()};
  if (Status cleared = table.clear(); !cleared) return cleared;
  const tuf::Root& body = verified->root().body;
  if (Status saved = table.save(tuf::role_name(Role::kRoot), body.version, body.expires, root); !saved) return saved;
  logs_.daemon()->info("update root v{} pinned: plugin updates are trusted along its chain", body.version);
  return Status::Ok();
}

std::map<std::string, std::string> UpdateCheck::plugin_pins() {
  std::map<std::string, std::string> pins;
  constexpr std::string_view kSuffix = ".PluginPin";
  if (auto config = store_.config().all(); config) {
    for (const auto& [key, value] : *config) {
      if (key.ends_with(kSuffix)) pins[key.substr(0, key.size() - kSuffix.size())] = value;
    }
  }
  return pins;
}

void UpdateCheck::after_checkin(const LinkSettings& settings, uint64_t announced) {
  Result<std::vector<StoredMetadata>> stored = store_.update_metadata().summary();
  if (!stored) return;
  bool pinned = false;
  int64_t trusted_timestamp = 0;
  for (const StoredMetadata& role : *stored) {
    pinned |= role.role == "root";
    if (role.role == "timestamp") trusted_timestamp = role.version;
  }
  if (!pinned || announced == 0) return;  // this platform signs no updates
  int64_t since_last;
  bool download_to_retry;
  {
    std::lock_guard lock(mutex_);
    since_last = link::unix_now() - last_check_;
    download_to_retry = !downloads_to_retry_.empty() || checked_pins_ != plugin_pins();  // a new pin: act now
  }
  // An older version announced is checked too: a replay (or a platform restored
  // from a backup) is then reported, not silently ignored. A download cut
  // short is resumed at the next check-in, and a changed pin is followed at once.
  if (static_cast<int64_t>(announced) != trusted_timestamp || since_last >= settings.update_check_seconds ||
      download_to_retry) {
    run(settings).ok();
  }
}

Status UpdateCheck::run(const LinkSettings& settings) {
  StoredMetadataAdapter trusted(store_.update_metadata());
  PlatformFetcher fetcher(connection_, settings);
  tuf::Updater updater(trusted, fetcher, [] { return link::unix_now(); });
  Status checked = updater.refresh();
  std::unique_lock lock(mutex_);
  last_check_ = link::unix_now();
  if (checked) {
    const tuf::TrustedSet& set = *updater.trusted();
    if (!last_error_.empty() || failing_since_ != 0) logs_.daemon()->info("update check works again");
    logs_.daemon()->debug("update metadata current: root v{}, targets v{}, timestamp v{}", set.root().body.version,
                          set.targets()->body.version, set.timestamp()->body.version);
    last_error_.clear();
    last_refusal_.clear();
    failing_since_ = 0;
    const tuf::Targets targets = set.targets()->body;
    lock.unlock();  // status() stays answerable during downloads
    stage_updates(settings, targets, fetcher.fetched_bytes);
    sweep_stray_partials(targets);
    return checked;
  }
  logs_.daemon()->warn("{}; plugins stay as they are", checked.error());
  last_error_ = checked.error();
  last_refusal_ = tuf::refusal_kind_name(updater.last_refusal());
  if (failing_since_ == 0) failing_since_ = last_check_;
  return checked;
}

void UpdateCheck::stage_updates(const LinkSettings& settings, const tuf::Targets& targets, int64_t metadata_bytes) {
  struct utsname names {};
  ::uname(&names);
  const std::string arch = names.machine;
  std::map<std::string, std::string> running;  // module -> plugin version
  for (const v1::ModuleStatus& module : delegate_.module_statuses()) running[module.module()] = module.plugin_version();
  // A module pinned by the profile follows its pin (another version, older ones too); the others the current file.
  const std::map<std::string, std::string> pins = plugin_pins();
  {
    std::lock_guard lock(mutex_);
    checked_pins_ = pins;
  }
  std::set<std::string> pin_found;
  std::vector<std::string> staged_modules;
  // The platform's current files this agent does not take, and why: never silently.
  std::map<std::string, std::string> passed_over;
  std::map<std::string, std::string> other_arch;  // module -> its current file for another architecture
  std::set<std::string> this_arch;                // modules with a current file for this one
  for (const auto& [path, target] : targets.targets) {
    if (!target.custom.is_object()) continue;
    const std::string module = target.custom.value("module", ""), version = target.custom.value("version", "");
    bool current = target.custom.value("current", false);
    if (target.custom.value("arch", "") != arch) {
      if (current) other_arch[module] = module + " " + version + " (" + target.custom.value("arch", "") + ")";
      continue;
    }
    if (current) this_arch.insert(module);
    const std::string offered = module + " " + version;
    auto pin = pins.find(module);
    if (pin != pins.end() ? pin->second != version : !current) continue;
    if (pin != pins.end()) pin_found.insert(module);
    auto loaded = running.find(module);
    if (loaded == running.end()) {
      passed_over[offered] = "no plugin of module " + module +
                             " is loaded here (an update replaces a plugin; "
                             "a new module is installed with its package)";
      continue;
    }
    if (loaded->second == version) continue;  // running it
    Result<std::optional<PluginSlotState>> stored = store_.plugin_slots().get(module);
    if (!stored) return;
    PluginSlotState slots;
    slots.module = module;
    if (*stored) slots = **stored;
    const std::string sha256 = target.hashes.count("sha256") ? target.hashes.at("sha256") : "";
    if (slots.state != "stable" && slots.state != "staged") continue;  // a swap runs: its slots stay as they are
    if (slots.a.sha256 == sha256 || slots.b.sha256 == sha256) {
      // Downloaded already. Offered again only when pinned to (a rollback or revert marked it bad otherwise).
      const std::string holder = slots.a.sha256 == sha256 ? "a" : "b";
      Result<std::optional<std::string>> bad = store_.plugin_slots().bad_reason(module, sha256);
      if (pin == pins.end() || slots.state != "stable" || holder != slots.inactive() || !bad || *bad) continue;
      if (Result<bool> staged = store_.plugin_slots().stage(slots, holder, {version, sha256, 0}, link::unix_now());
          staged && *staged) {
        logs_.daemon()->info("plugin {} {} (pinned) is staged again from slot {}", module, version, holder);
        staged_modules.push_back(module);
      }
      continue;
    }
    if (Result<std::optional<std::string>> bad = store_.plugin_slots().bad_reason(module, sha256); !bad || *bad) {
      std::lock_guard lock(mutex_);
      if (bad) staging_errors_[module] = fmt::format("{} {} is not retried: {}", module, version, **bad);
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      if (refused_files_.count(sha256)) continue;  // the same bytes again would be refused again
    }
    const std::string slot = slots.inactive();
    PluginDownload download{module, version, target, plugin_slot_file(paths_.data_dir, module, slot)};
    Result<int64_t> fetched = download_plugin(connection_, settings, download);
    std::lock_guard lock(mutex_);
    if (!fetched) {
      logs_.daemon()->warn("{}; {} keeps running its plugin {}", fetched.error(), module, loaded->second);
      staging_errors_[module] = fetched.error();
      if (fetched.code() == ErrorCode::kInvalidArgument) {
        refused_files_.insert(sha256);
        downloads_to_retry_.erase(module);
      } else {
        downloads_to_retry_.insert(module);
      }
      continue;
    }
    downloads_to_retry_.erase(module);
    Result<bool> staged =
        store_.plugin_slots().stage(slots, slot, {version, sha256, *fetched + metadata_bytes}, link::unix_now());
    if (!staged || !*staged) {
      // Not recorded: the file is unused, and a later check stages it again.
      staging_errors_[module] = staged ? "a swap started meanwhile; staged at the next check"
                                       : "the staged slot is not recorded: " + staged.error();
      continue;
    }
    staging_errors_.erase(module);
    logs_.daemon()->info("plugin {} {} verified and staged in slot {} ({} bytes downloaded); {} {} keeps running",
                         module, version, slot, *fetched, module, loaded->second);
    staged_modules.push_back(module);
  }
  for (const auto& [module, offered] : other_arch) {
    if (running.count(module) && !this_arch.count(module)) {
      passed_over[offered] = "built for another architecture than this machine's " + arch;
    }
  }
  {
    std::lock_guard lock(mutex_);
    passed_over_ = std::move(passed_over);
    for (const auto& [module, version] : pins) {
      if (!pin_found.count(module)) {
        staging_errors_[module] = fmt::format("pinned to {} {}, which the platform does not offer", module, version);
      } else if (auto error = staging_errors_.find(module);
                 error != staging_errors_.end() && error->second.starts_with("pinned to")) {
        staging_errors_.erase(error);
      }
    }
  }
  for (const std::string& module : staged_modules) delegate_.plugin_staged(module);
}

void UpdateCheck::sweep_stray_partials(const tuf::Targets& targets) {
  std::set<std::string> listed;  // the 16-digit sha256 prefixes partial files are named with
  for (const auto& [path, target] : targets.targets) {
    if (auto sha256 = target.hashes.find("sha256"); sha256 != target.hashes.end()) {
      listed.insert(sha256->second.substr(0, 16));
    }
  }
  std::error_code error;
  for (const auto& module : std::filesystem::directory_iterator(paths_.data_dir / "plugin-slots", error)) {
    for (const auto& entry : std::filesystem::directory_iterator(module.path(), error)) {
      const std::string name = entry.path().filename().string();
      if (!name.ends_with(".partial")) continue;
      std::string stem = name.substr(0, name.size() - std::string_view(".partial").size());
      std::string prefix = stem.substr(stem.rfind('.') + 1);
      if (listed.count(prefix)) continue;
      std::error_code removed;
      std::filesystem::remove(entry.path(), removed);
      logs_.daemon()->info("deleted {}: a partial download of a file the platform no longer offers",
                           entry.path().string());
    }
  }
}

nlohmann::json UpdateCheck::status(const LinkSettings& settings) {
  nlohmann::json report = {{"pinned", false}};
  Result<std::vector<StoredMetadata>> stored = store_.update_metadata().summary();
  if (!stored) {
    report["state"] = "unknown";
    report["summary"] = "cannot read the trusted update metadata: " + stored.error();
    return report;
  }
  int64_t now = link::unix_now();
  std::optional<int64_t> earliest;
  for (const StoredMetadata& role : *stored) {
    report[role.role + "_version"] = role.version;
    report["pinned"] = report["pinned"].get<bool>() || role.role == "root";
    earliest = std::min(earliest.value_or(role.expires), role.expires);
  }
  nlohmann::json plugins = nlohmann::json::array();
  if (Result<std::vector<PluginSlotState>> slots = store_.plugin_slots().all(); slots) {
    for (const PluginSlotState& module : *slots) {
      nlohmann::json entry = {{"module", module.module}, {"active", module.active}, {"state", module.state}};
      if (module.state == "probing") entry["probation_ends"] = module.probe_deadline;
      if (Result<std::vector<UpgradeRecord>> last = store_.plugin_slots().history(module.module, 1);
          last && !last->empty()) {
        const UpgradeRecord& record = last->front();
        entry["last_upgrade"] = {{"at", record.at},
                                 {"from", record.from_version},
                                 {"to", record.to_version},
                                 {"outcome", record.outcome},
                                 {"reason", record.reason}};
      }
      for (const char* slot : {"a", "b"}) {
        if (!module.file(slot).version.empty()) {
          entry[slot] = {{"version", module.file(slot).version}, {"sha256", module.file(slot).sha256}};
        }
      }
      plugins.push_back(entry);
    }
  }
  report["plugins"] = plugins;
  std::lock_guard lock(mutex_);
  if (!staging_errors_.empty()) report["staging_errors"] = staging_errors_;
  if (!passed_over_.empty()) report["passed_over"] = passed_over_;
  report["last_check"] = last_check_;
  if (!last_error_.empty()) {
    report["last_error"] = last_error_;
    report["refusal"] = last_refusal_;
    report["failing_since"] = failing_since_;
  }
  if (!report["pinned"].get<bool>()) {
    report["state"] = "not pinned";
    report["summary"] =
        "no update root pinned: plugins are not updated (the platform signs no updates, or the "
        "agent was provisioned before it did)";
    return report;
  }
  std::string versions = "root v" + std::to_string(report["root_version"].get<int64_t>());
  if (report.contains("targets_version"))
    versions += ", targets v" + std::to_string(report["targets_version"].get<int64_t>());
  if (report.contains("timestamp_version")) {
    versions += ", timestamp v" + std::to_string(report["timestamp_version"].get<int64_t>());
  }
  report["expires"] = *earliest;
  int64_t left = *earliest - now;
  if (left <= 0) {
    report["state"] = "expired";
    report["summary"] = versions + "; expired " + duration(-left) +
                        " ago: no new plugins until the platform signs again; the plugins installed keep running";
  } else if (!last_error_.empty()) {
    report["state"] = last_refusal_ == "unavailable" ? "unreachable" : "refused";
    report["summary"] = versions + "; last check failed (" + last_error_ + "); metadata valid for another " +
                        duration(left) + "; the plugins installed keep running";
  } else if (left < settings.expiry_warning_days * 86'400) {
    report["state"] = "expiring";
    report["summary"] = versions + "; expires in " + duration(left) +
                        " unless the platform signs new metadata; the plugins installed are unaffected";
  } else if (!report.contains("timestamp_version")) {
    report["state"] = "not checked yet";
    report["summary"] = versions + "; not checked yet";
  } else {
    report["state"] = "current";
    report["summary"] = versions + "; metadata valid for another " + duration(left);
  }
  return report;
}

}  // namespace vigil
