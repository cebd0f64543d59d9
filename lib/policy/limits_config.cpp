// limits.conf and limits.d/*.conf as Debian 12's pam_limits (Linux-PAM
// 1.5.2 with Debian's patches) applies them to one user: limits.conf, then
// limits.d/*.conf in C order; a line counts when its domain names the user,
// and a limit set from a more specific domain (user or uid range, then
// @group, then *) is not replaced by a less specific one, while a later line
// of the same or a more specific domain replaces it. Debian's patches show in
// root's rules and in starting from PID 1's limits.
#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "vigil/accounts/accounts.h"
#include "vigil/policy/limits_pwquality_grub.h"
#include "vigil/text/text.h"

namespace vigil::policy {
namespace {

namespace fs = std::filesystem;

// pam_limits' sources, most specific first: a limit from a lower number is kept.
enum Source { kUser = 0, kGroup = 1, kAllGroup = 2, kAll = 3, kDefault = 4, kNone = 6 };

// The items pam_limits keeps one value of, not a soft and a hard one; the rest are rlimits.
const std::set<std::string>& untyped_items() {
  static const std::set<std::string> items = {"maxlogins", "maxsyslogins", "priority", "nonewprivs"};
  return items;
}

const std::set<std::string>& rlimit_items() {
  static const std::set<std::string> items = {"core",  "data",       "fsize",    "memlock", "nofile",
                                              "rss",   "stack",      "cpu",      "nproc",   "as",
                                              "locks", "sigpending", "msgqueue", "nice",    "rtprio"};
  return items;
}

// A domain's uid / gid range ("1000:", ":999", "1000:1999", "@100:200").
struct Range {
  enum Kind { kNoRange, kOne, kMin, kMinMax } kind = kNoRange;
  unsigned long min = 0, max = 0;
};

bool all_digits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

Range parse_range(const std::string& domain, const std::string& where) {
  size_t colon = domain.find(':');
  if (colon == std::string::npos) return {};
  std::string body = domain.substr(domain[0] == '@' || domain[0] == '%' ? 1 : 0);
  colon = body.find(':');
  std::string low = body.substr(0, colon), high = body.substr(colon + 1);
  auto number = [&](const std::string& text) {
    if (!all_digits(text) || text.size() > 10)
      throw std::runtime_error(where + ": invalid uid/gid range '" + domain + "' (pam_limits skips the line)");
    return std::stoul(text);
  };
  Range range;
  if (low.empty()) {
    if (high.empty()) throw std::runtime_error(where + ": invalid uid/gid range '" + domain + "'");
    range.kind = Range::kOne;
    range.min = range.max = number(high);
  } else {
    range.min = number(low);
    range.kind = high.empty() ? Range::kMin : Range::kMinMax;
    if (!high.empty()) range.max = number(high);
  }
  if (domain[0] == '%' && range.kind != Range::kOne)
    throw std::runtime_error(where + ": pam_limits ignores a gid range in a % domain ('" + domain + "')");
  return range;
}

struct LimitLine {
  std::string domain, type, item, value;  // value "" on a "<domain> -" line
  bool no_limits = false;
  Range range;
  std::string origin;
};

// The value pam_limits would accept, as the reader reports it.
std::string checked_value(const LimitLine& line, const std::string& where) {
  const std::string& value = line.value;
  if (line.item == "nonewprivs") {
    if (value != "0" && value != "1")
      throw std::runtime_error(where + ": nonewprivs takes 0 or 1, not '" + value + "'");
    return value;
  }
  bool signed_item =
      line.item == "priority" || line.item == "nice" || line.item == "maxlogins" || line.item == "maxsyslogins";
  if (line.item != "priority" && line.item != "nice" &&
      (value == "-1" || value == "-" || value == "unlimited" || value == "infinity"))
    return "unlimited";
  std::string digits = signed_item && (value[0] == '-' || value[0] == '+') ? value.substr(1) : value;
  // pam_limits reads a number's leading digits and drops the rest ("10k" is 10): refuse what it would misread.
  if (!all_digits(digits) || digits.size() > 18)
    throw std::runtime_error(where + ": '" + value + "' is not a value pam_limits reads exactly for " + line.item);
  return value;
}

std::vector<LimitLine> read_limits_file(const fs::path& root, const fs::path& file) {
  std::vector<LimitLine> lines;
  std::istringstream in(read_text(root, file));
  int number = 0;
  for (std::string text; std::getline(in, text);) {
    std::string where = file.string() + ":" + std::to_string(++number);
    if (text.find('\0') != std::string::npos) throw std::runtime_error(where + ": a NUL byte");
    if (text.size() > 1022) throw std::runtime_error(where + ": a line longer than pam_limits' 1023 characters");
    text = text.substr(0, text.find('#'));
    std::istringstream fields(text);
    std::vector<std::string> words;
    for (std::string word; fields >> word;) words.push_back(word);
    if (words.empty()) continue;
    LimitLine line;
    line.origin = where;
    line.domain = words[0];
    line.range = parse_range(line.domain, where);
    if (words.size() == 2 && words[1][0] == '-') {
      line.no_limits = true;
      lines.push_back(line);
      continue;
    }
    if (words.size() > 4)
      throw std::runtime_error(where + ": a fifth field '" + words[4] + "', which pam_limits ignores");
    if (words.size() != 4)
      throw std::runtime_error(where + ": pam_limits skips a line without domain, type, item and value");
    line.type = to_lower(words[1]);
    line.item = to_lower(words[2]);
    line.value = to_lower(words[3]);
    if (line.item == "chroot") continue;  // Debian's pam_limits changes the root directory: no limit
    if (!limits_known_item(line.item)) throw std::runtime_error(where + ": unknown limit item '" + words[2] + "'");
    // pam_limits ignores the type of these three.
    bool typed = line.item != "maxlogins" && line.item != "maxsyslogins" && line.item != "nonewprivs";
    if (typed && line.type != "soft" && line.type != "hard" && line.type != "-")
      throw std::runtime_error(where + ": unknown limit type '" + words[1] + "' (soft, hard or -)");
    if (line.domain[0] == '%' && line.item != "maxlogins")
      throw std::runtime_error(where + ": pam_limits reads a % domain for maxlogins only");
    line.value = checked_value(line, where);
    lines.push_back(line);
  }
  return lines;
}

struct Account {
  bool only_star = true;  // the user only * and % lines name
  std::string name;
  unsigned long uid = 0, gid = 0;
  std::vector<accounts::Record> groups;
};

Account account_of(const fs::path& root, const std::string& user) {
  Account account;
  if (user.empty()) return account;
  account.only_star = false;
  account.name = user;
  bool found = false;
  for (const auto& record : accounts::parse_records(read_text(root, "/etc/passwd"))) {
    if (record.size() < 4 || record[0] != user) continue;
    if (!all_digits(record[2]) || !all_digits(record[3]) || record[2].size() > 10 || record[3].size() > 10)
      throw std::runtime_error("/etc/passwd: the uid or gid of " + user + " is not a number");
    account.uid = std::stoul(record[2]);
    account.gid = std::stoul(record[3]);
    found = true;
    break;
  }
  if (!found) throw std::runtime_error("user " + user + " is not in /etc/passwd (pam_limits refuses the session)");
  account.groups = accounts::parse_records(read_text(root, "/etc/group"));
  return account;
}

// As pam_modutil_user_in_group_*: the group is the user's primary one or lists the user.
bool in_group(const Account& account, const std::optional<std::string>& name, std::optional<unsigned long> gid) {
  if (account.only_star) return false;
  for (const auto& record : account.groups) {
    if (record.size() < 3) continue;
    if (name ? record[0] != *name : record[2] != std::to_string(*gid)) continue;
    if (record[2] == std::to_string(account.gid)) return true;
    std::istringstream members(record.size() > 3 ? record[3] : "");
    for (std::string member; std::getline(members, member, ',');)
      if (member == account.name) return true;
    return false;
  }
  return false;
}

bool in_range(const Range& range, unsigned long id) {
  switch (range.kind) {
    case Range::kOne: return id == range.max;
    case Range::kMin: return id >= range.min;
    case Range::kMinMax: return id >= range.min && id <= range.max;
    case Range::kNoRange: break;
  }
  return false;
}

// The source a line applies to the account with, or nullopt when it does not name it.
std::optional<Source> source_for(const LimitLine& line, const Account& account) {
  const std::string& domain = line.domain;
  if (!account.only_star && domain == account.name) return kUser;
  if (domain[0] == '@') {
    if (account.only_star) return std::nullopt;
    bool named = line.range.kind == Range::kNoRange ? in_group(account, domain.substr(1), std::nullopt)
                 : line.range.kind == Range::kOne   ? in_group(account, std::nullopt, line.range.max)
                                                    : in_range(line.range, account.gid);
    return named ? std::optional<Source>(kGroup) : std::nullopt;
  }
  if (domain[0] == '%') {
    if (domain == "%") return kAll;
    bool named = line.range.kind == Range::kNoRange ? in_group(account, domain.substr(1), std::nullopt)
                                                    : in_group(account, std::nullopt, line.range.max);
    return named ? std::optional<Source>(kAllGroup) : std::nullopt;
  }
  if (line.range.kind == Range::kNoRange) return domain == "*" ? std::optional<Source>(kDefault) : std::nullopt;
  if (account.only_star) return std::nullopt;
  return in_range(line.range, account.uid) ? std::optional<Source>(kUser) : std::nullopt;
}

// PID 1's `item` limit from the root's /proc/1/limits, in limits.conf's
// units; nullopt without that file.
std::optional<ConfigValue> init_limit(const fs::path& root, const std::string& item, bool hard) {
  static const std::map<std::string, std::pair<std::string, unsigned long long>> kRows = {
      {"cpu", {"Max cpu time", 60}},
      {"fsize", {"Max file size", 1024}},
      {"data", {"Max data size", 1024}},
      {"stack", {"Max stack size", 1024}},
      {"core", {"Max core file size", 1024}},
      {"rss", {"Max resident set", 1024}},
      {"nproc", {"Max processes", 1}},
      {"nofile", {"Max open files", 1}},
      {"memlock", {"Max locked memory", 1024}},
      {"as", {"Max address space", 1024}},
      {"locks", {"Max file locks", 1}},
      {"sigpending", {"Max pending signals", 1}},
      {"msgqueue", {"Max msgqueue size", 1}},
      {"nice", {"Max nice priority", 1}},
      {"rtprio", {"Max realtime priority", 1}}};
  std::error_code missing;
  if (!fs::exists(under(root, "/proc/1/limits"), missing)) return std::nullopt;
  const auto& [label, unit] = kRows.at(item);
  std::istringstream in(read_text(root, "/proc/1/limits"));
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.rfind(label + "  ", 0) != 0) continue;
    std::istringstream fields(line.substr(label.size()));
    std::string soft, hard_value;
    fields >> soft >> hard_value;
    std::string value = hard ? hard_value : soft;
    std::string origin =
        "/proc/1/limits:" + std::to_string(number) + ", PID 1's, which Debian's pam_limits starts from";
    // Debian's pam_limits lowers init's soft nofile to 1024, the limit select() copes with.
    if (item == "nofile" && !hard &&
        (value == "unlimited" || (all_digits(value) && value.size() < 19 && std::stoull(value) > 1024)))
      return ConfigValue{"1024", origin + ", lowered to 1024"};
    if (value == "unlimited") return ConfigValue{value, origin};
    if (!all_digits(value) || value.size() > 19 || std::stoull(value) % unit != 0)
      throw std::runtime_error("/proc/1/limits:" + std::to_string(number) + ": '" + value +
                               "' is not a whole number of " + item + " units");
    unsigned long long limit = std::stoull(value) / unit;
    // The kernel keeps a nice limit N as 20 - N.
    return ConfigValue{item == "nice" ? std::to_string(20 - static_cast<long long>(limit)) : std::to_string(limit),
                       origin};
  }
  throw std::runtime_error("/proc/1/limits has no line for " + item);
}

// Debian's pam_limits applies no @group (by name), % or * line to uid 0: only
// lines naming root or a uid or gid range that holds it (found with the real
// pam_limits, unit.policy.LimitsOracle).
bool skipped_for_root(const LimitLine& line, const Account& account) {
  if (account.only_star || account.uid != 0) return false;
  return line.domain == "*" || line.domain[0] == '%' || (line.domain[0] == '@' && line.range.kind == Range::kNoRange);
}

// Whether a "<domain> -" line stops pam_limits for the account: its name, an
// @group (by name, gid or gid range) or a uid range ("%:N" is read as one too);
// never * or %.
bool stops_for(const LimitLine& line, const Account& account) {
  if (account.only_star) return false;
  const std::string& domain = line.domain;
  if (domain == account.name) return true;
  if (domain[0] == '@') return source_for(line, account).has_value();
  return line.range.kind != Range::kNoRange && in_range(line.range, account.uid);
}

// Whether the rlimit value `a` is above `b` ("unlimited" above every number;
// a nice value N is the rlimit 20 - N).
bool above(const std::string& item, const std::string& a, const std::string& b) {
  if (item == "nice") return std::stoll(a) < std::stoll(b);
  if (a == "unlimited" || b == "unlimited") return a == "unlimited" && b != "unlimited";
  return std::stoull(a) > std::stoull(b);
}

}  // namespace

bool limits_known_item(const std::string& item) {
  return rlimit_items().count(item) != 0 || untyped_items().count(item) != 0;
}

LimitsValue limits_value(const fs::path& root, const std::string& user, const std::string& item,
                         const std::string& type) {
  // Every line is checked, whoever it names: a line pam_limits refuses is wrong for every session.
  std::vector<LimitLine> lines = read_limits_file(root, "/etc/security/limits.conf");
  for (const auto& file : glob_under(root, "/etc/security/limits.d/*.conf")) {
    auto more = read_limits_file(root, file);
    lines.insert(lines.end(), more.begin(), more.end());
  }
  Account account = account_of(root, user);
  bool login_item = item == "maxlogins" || item == "maxsyslogins";
  // What pam_limits holds for the item: a value and its source, the soft and the hard one apart.
  struct Held {
    std::optional<ConfigValue> value;
    int source = kNone;
  } soft, hard;
  std::string login_kind;
  for (const auto& line : lines) {
    if (line.no_limits) {
      if (stops_for(line, account)) return LimitsValue{std::nullopt, line.origin};
      continue;
    }
    auto source = source_for(line, account);
    if (source && skipped_for_root(line, account)) continue;
    // For uid 0 Debian's pam_limits ranks the lines it applies alike: the last one wins.
    if (source && !account.only_star && account.uid == 0) source = kUser;
    bool login_line = line.item == "maxlogins" || line.item == "maxsyslogins";
    if (!source || (line.item != item && !(login_item && login_line))) continue;
    ConfigValue value{line.value, line.origin};
    if (login_item) {
      if (!login_kind.empty() && login_kind != line.item)
        throw std::runtime_error(line.origin +
                                 ": maxlogins and maxsyslogins both apply; pam_limits keeps one limit for both");
      login_kind = line.item;
      if (soft.source >= *source) soft = {value, *source};
    } else if (untyped_items().count(item)) {
      soft = {value, *source};  // priority and nonewprivs: the last line wins, whatever its domain
    } else {
      // As pam_limits: a "-" line whose soft part a more specific domain holds sets no hard value either.
      if (line.type != "hard") {
        if (soft.source < *source) continue;
        soft = {value, *source};
      }
      if (line.type != "soft" && hard.source >= *source) hard = {value, *source};
    }
  }
  LimitsValue result;
  if (login_item && !account.only_star && account.uid == 0)
    return result;  // pam_limits skips the login count for uid 0
  if (rlimit_items().count(item)) {
    // Debian's pam_limits starts from PID 1's limits: what no line sets is init's.
    if (!soft.value) soft.value = init_limit(root, item, false);
    if (!hard.value) hard.value = init_limit(root, item, true);
  }
  result.value = untyped_items().count(item) || type != "hard" ? soft.value : hard.value;
  // pam_limits lowers a soft limit above the hard one to it before setting them.
  if (type == "soft" && soft.value && hard.value && above(item, soft.value->value, hard.value->value))
    result.value = ConfigValue{hard.value->value, hard.value->origin + ", the hard limit, below soft " +
                                                      soft.value->value + " (" + soft.value->origin + ")"};
  return result;
}

}  // namespace vigil::policy
