// sshd_config as Debian 12's sshd (OpenSSH 9.2p1) reads it. The reader
// follows sshd's two passes over the files: the first reads every line (a
// Match block other than "Match all" is inactive there, and every value is
// checked), the second, for a connection, applies only the Match blocks that
// select it; a value from the second pass wins over the first, and within a
// pass the first value wins. What this reader cannot interpret exactly
// throws std::runtime_error naming the file:line and the construct, so a
// check errs instead of reporting a value sshd would not use.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "vigil/policy/config_formats.h"
#include "vigil/text/text.h"

namespace vigil::policy {
namespace {

// How sshd parses a keyword's value and how sshd -T prints it.
enum class Kind {
  kText,        // one or more words, printed as written
  kLine,        // the rest of the line as written (ForceCommand, VersionAddendum)
  kCommand,     // kLine whose first word is "none" or an absolute path
  kFlag,        // yes / no, any case
  kChoice,      // one word of `choices`, any case
  kExact,       // one word of `choices`, in that case
  kNumber,      // a decimal integer
  kTime,        // sshd's time format (90, 1m30s), printed in seconds
  kPath,        // "none" or an absolute file name
  kAlgorithms,  // one list; "+", "-" or "^" at its start edits sshd's built-in list, which we do not know
  kAccumulate,  // every line adds its words (a Match block's lines replace the global ones)
  kList,        // accumulates over lines in a form not reproduced here: a single line is understood
  kIgnored,     // deprecated or unsupported: sshd logs it and ignores the value
  kUnread,  // sshd -T prints it in a form this reader does not reproduce (ports, networks, pairs): a check of it errs
};

struct Keyword {
  std::string_view name;       // lower case
  std::string_view canonical;  // the keyword sshd -T prints for it; empty: the name itself
  bool global_only;            // sshd refuses it within a Match block
  Kind kind;
  std::string_view choices;  // kChoice: the spellings sshd accepts, "spelling=printed" where sshd -T prints another
};

constexpr bool kGlobal = true;
constexpr bool kAny = false;
constexpr std::string_view kForwarding = "yes all=yes no remote local";

// Every keyword Debian 12's sshd accepts (OpenSSH 9.2p1 with Debian's GSSAPI key
// exchange and DebianBanner), checked against `sshd -t`.
constexpr Keyword kKeywords[] = {
    {"acceptenv", "", kAny, Kind::kAccumulate, ""},
    {"addressfamily", "", kGlobal, Kind::kChoice, "inet inet6 any"},
    {"afstokenpassing", "", kGlobal, Kind::kIgnored, ""},
    {"allowagentforwarding", "", kAny, Kind::kFlag, ""},
    {"allowgroups", "", kAny, Kind::kAccumulate, ""},
    {"allowstreamlocalforwarding", "", kAny, Kind::kChoice, kForwarding},
    {"allowtcpforwarding", "", kAny, Kind::kChoice, kForwarding},
    {"allowusers", "", kAny, Kind::kAccumulate, ""},
    {"authenticationmethods", "", kAny, Kind::kText, ""},
    {"authorizedkeyscommand", "", kAny, Kind::kCommand, ""},
    {"authorizedkeyscommanduser", "", kAny, Kind::kText, ""},
    {"authorizedkeysfile", "", kAny, Kind::kText, ""},
    {"authorizedkeysfile2", "", kAny, Kind::kIgnored, ""},
    {"authorizedprincipalscommand", "", kAny, Kind::kCommand, ""},
    {"authorizedprincipalscommanduser", "", kAny, Kind::kText, ""},
    {"authorizedprincipalsfile", "", kAny, Kind::kText, ""},
    {"banner", "", kAny, Kind::kPath, ""},
    {"casignaturealgorithms", "", kAny, Kind::kAlgorithms, ""},
    {"challengeresponseauthentication", "kbdinteractiveauthentication", kAny, Kind::kFlag, ""},
    {"channeltimeout", "", kAny, Kind::kUnread, ""},
    {"checkmail", "", kGlobal, Kind::kIgnored, ""},
    {"chrootdirectory", "", kAny, Kind::kText, ""},
    {"ciphers", "", kGlobal, Kind::kAlgorithms, ""},
    {"clientalivecountmax", "", kAny, Kind::kNumber, ""},
    {"clientaliveinterval", "", kAny, Kind::kTime, ""},
    {"compression", "", kGlobal, Kind::kChoice, "yes delayed=yes no"},
    {"debianbanner", "", kGlobal, Kind::kFlag, ""},
    {"denygroups", "", kAny, Kind::kAccumulate, ""},
    {"denyusers", "", kAny, Kind::kAccumulate, ""},
    {"disableforwarding", "", kAny, Kind::kFlag, ""},
    {"dsaauthentication", "pubkeyauthentication", kGlobal, Kind::kFlag, ""},
    {"exposeauthinfo", "", kAny, Kind::kFlag, ""},
    {"fingerprinthash", "", kGlobal, Kind::kChoice, "md5=MD5 sha256=SHA256"},
    {"forcecommand", "", kAny, Kind::kLine, ""},
    {"gatewayports", "", kAny, Kind::kChoice, "clientspecified yes no"},
    {"gssapiauthentication", "", kAny, Kind::kFlag, ""},
    {"gssapicleanupcredentials", "", kGlobal, Kind::kFlag, ""},
    {"gssapikexalgorithms", "", kGlobal, Kind::kAlgorithms, ""},
    {"gssapikeyexchange", "", kGlobal, Kind::kFlag, ""},
    {"gssapistorecredentialsonrekey", "", kGlobal, Kind::kFlag, ""},
    {"gssapistrictacceptorcheck", "", kGlobal, Kind::kFlag, ""},
    {"hostbasedacceptedalgorithms", "", kAny, Kind::kAlgorithms, ""},
    {"hostbasedacceptedkeytypes", "hostbasedacceptedalgorithms", kAny, Kind::kAlgorithms, ""},
    {"hostbasedauthentication", "", kAny, Kind::kFlag, ""},
    {"hostbasedusesnamefrompacketonly", "", kAny, Kind::kFlag, ""},
    {"hostcertificate", "", kGlobal, Kind::kAccumulate, ""},
    {"hostdsakey", "hostkey", kGlobal, Kind::kAccumulate, ""},
    {"hostkey", "", kGlobal, Kind::kAccumulate, ""},
    {"hostkeyagent", "", kGlobal, Kind::kPath, ""},
    {"hostkeyalgorithms", "", kGlobal, Kind::kAlgorithms, ""},
    {"ignorerhosts", "", kAny, Kind::kChoice, "yes no shosts-only"},
    {"ignoreuserknownhosts", "", kGlobal, Kind::kFlag, ""},
    {"ipqos", "", kAny, Kind::kUnread, ""},
    {"kbdinteractiveauthentication", "", kAny, Kind::kFlag, ""},
    {"keepalive", "tcpkeepalive", kGlobal, Kind::kFlag, ""},
    {"kerberosauthentication", "", kAny, Kind::kFlag, ""},
    {"kerberosgetafstoken", "", kGlobal, Kind::kIgnored, ""},
    {"kerberosorlocalpasswd", "", kGlobal, Kind::kFlag, ""},
    {"kerberostgtpassing", "", kGlobal, Kind::kIgnored, ""},
    {"kerberosticketcleanup", "", kGlobal, Kind::kFlag, ""},
    {"kexalgorithms", "", kGlobal, Kind::kAlgorithms, ""},
    {"keyregenerationinterval", "", kGlobal, Kind::kIgnored, ""},
    {"listenaddress", "", kGlobal, Kind::kUnread, ""},
    {"logingracetime", "", kGlobal, Kind::kTime, ""},
    {"loglevel", "", kAny, Kind::kChoice,
     "quiet=SILENT fatal=FATAL error=ERROR info=INFO verbose=VERBOSE debug=DEBUG debug1=DEBUG debug2=DEBUG2 "
     "debug3=DEBUG3"},
    {"logverbose", "", kAny, Kind::kText, ""},
    {"macs", "", kGlobal, Kind::kAlgorithms, ""},
    {"maxauthtries", "", kAny, Kind::kNumber, ""},
    {"maxsessions", "", kAny, Kind::kNumber, ""},
    {"maxstartups", "", kGlobal, Kind::kUnread, ""},
    {"modulifile", "", kGlobal, Kind::kPath, ""},
    {"pamauthenticationviakbdint", "", kGlobal, Kind::kIgnored, ""},
    {"passwordauthentication", "", kAny, Kind::kFlag, ""},
    {"permitemptypasswords", "", kAny, Kind::kFlag, ""},
    {"permitlisten", "", kAny, Kind::kUnread, ""},
    {"permitopen", "", kAny, Kind::kUnread, ""},
    {"permitrootlogin", "", kAny, Kind::kChoice,
     "without-password prohibit-password=without-password forced-commands-only yes no"},
    {"permittty", "", kAny, Kind::kFlag, ""},
    {"permittunnel", "", kAny, Kind::kExact, "yes no point-to-point ethernet"},
    {"permituserenvironment", "", kGlobal, Kind::kText, ""},
    {"permituserrc", "", kAny, Kind::kFlag, ""},
    {"persourcemaxstartups", "", kGlobal, Kind::kUnread, ""},
    {"persourcenetblocksize", "", kGlobal, Kind::kUnread, ""},
    {"pidfile", "", kGlobal, Kind::kPath, ""},
    {"port", "", kGlobal, Kind::kUnread, ""},
    {"printlastlog", "", kGlobal, Kind::kFlag, ""},
    {"printmotd", "", kGlobal, Kind::kFlag, ""},
    {"protocol", "", kGlobal, Kind::kIgnored, ""},
    {"pubkeyacceptedalgorithms", "", kAny, Kind::kAlgorithms, ""},
    {"pubkeyacceptedkeytypes", "pubkeyacceptedalgorithms", kAny, Kind::kAlgorithms, ""},
    {"pubkeyauthentication", "", kAny, Kind::kFlag, ""},
    {"pubkeyauthoptions", "", kAny, Kind::kText, ""},
    {"rdomain", "", kAny, Kind::kText, ""},
    {"rekeylimit", "", kAny, Kind::kUnread, ""},
    {"requiredrsasize", "", kAny, Kind::kNumber, ""},
    {"reversemappingcheck", "", kGlobal, Kind::kIgnored, ""},
    {"revokedkeys", "", kAny, Kind::kPath, ""},
    {"rhostsauthentication", "", kGlobal, Kind::kIgnored, ""},
    {"rhostsrsaauthentication", "", kAny, Kind::kIgnored, ""},
    {"rsaauthentication", "", kAny, Kind::kIgnored, ""},
    {"securitykeyprovider", "", kGlobal, Kind::kPath, ""},
    {"serverkeybits", "", kGlobal, Kind::kIgnored, ""},
    {"setenv", "", kAny, Kind::kText, ""},
    {"skeyauthentication", "kbdinteractiveauthentication", kAny, Kind::kFlag, ""},
    {"streamlocalbindmask", "", kAny, Kind::kUnread, ""},
    {"streamlocalbindunlink", "", kAny, Kind::kFlag, ""},
    {"strictmodes", "", kGlobal, Kind::kFlag, ""},
    {"subsystem", "", kGlobal, Kind::kList, ""},
    {"syslogfacility", "", kGlobal, Kind::kChoice,
     "daemon=DAEMON user=USER auth=AUTH authpriv=AUTHPRIV local0=LOCAL0 local1=LOCAL1 local2=LOCAL2 local3=LOCAL3 "
     "local4=LOCAL4 local5=LOCAL5 local6=LOCAL6 local7=LOCAL7"},
    {"tcpkeepalive", "", kGlobal, Kind::kFlag, ""},
    {"trustedusercakeys", "", kAny, Kind::kPath, ""},
    {"unusedconnectiontimeout", "", kAny, Kind::kUnread, ""},
    {"usedns", "", kGlobal, Kind::kFlag, ""},
    {"uselogin", "", kGlobal, Kind::kIgnored, ""},
    {"usepam", "", kGlobal, Kind::kFlag, ""},
    {"useprivilegeseparation", "", kGlobal, Kind::kIgnored, ""},
    {"verifyreversemapping", "", kGlobal, Kind::kIgnored, ""},
    {"versionaddendum", "", kGlobal, Kind::kLine, ""},
    {"x11displayoffset", "", kAny, Kind::kNumber, ""},
    {"x11forwarding", "", kAny, Kind::kFlag, ""},
    {"x11uselocalhost", "", kAny, Kind::kFlag, ""},
    {"xauthlocation", "", kGlobal, Kind::kPath, ""},
};

const Keyword* find_keyword(std::string_view name) {
  static const auto* const by_name = [] {
    auto* map = new std::map<std::string, const Keyword*, std::less<>>;
    for (const auto& keyword : kKeywords) map->emplace(keyword.name, &keyword);
    return map;
  }();
  auto found = by_name->find(to_lower(name));
  return found == by_name->end() ? nullptr : found->second;
}

std::string_view canonical_name(const Keyword& keyword) {
  return keyword.canonical.empty() ? keyword.name : keyword.canonical;
}

// The spelling sshd -T prints for `word`, or nullopt when sshd refuses it.
std::optional<std::string> choice(const Keyword& keyword, const std::string& word) {
  std::istringstream choices(keyword.kind == Kind::kFlag ? std::string("yes no") : std::string(keyword.choices));
  std::string wanted = keyword.kind == Kind::kExact ? word : to_lower(word);
  for (std::string entry; choices >> entry;) {
    size_t equals = entry.find('=');
    if (entry.substr(0, equals) == wanted) return equals == std::string::npos ? entry : entry.substr(equals + 1);
  }
  return std::nullopt;
}

// sshd's integers: decimal, an optional '+', 0 to INT_MAX.
std::optional<long long> number(const std::string& text, long long max) {
  size_t start = !text.empty() && text.front() == '+' ? 1 : 0;
  if (start == text.size()) return std::nullopt;
  while (start + 1 < text.size() && text[start] == '0') ++start;  // leading zeros
  if (text.size() - start > 12) return std::nullopt;
  long long value = 0;
  for (size_t i = start; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

// sshd's time format: numbers each with an optional unit (s, m, h, d, w), summed.
std::optional<long long> seconds(const std::string& text) {
  if (text.empty()) return std::nullopt;
  long long total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t digits = text[i] == '+' ? i + 1 : i;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    auto part = number(text.substr(i, digits - i), INT_MAX);
    if (!part) return std::nullopt;
    long long unit = 1;
    if (digits < text.size()) {
      switch (std::tolower(static_cast<unsigned char>(text[digits]))) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        case 'w': unit = 604800; break;
        default: return std::nullopt;
      }
      ++digits;
    }
    if (*part > INT_MAX / unit) return std::nullopt;
    total += *part * unit;
    if (total > INT_MAX) return std::nullopt;
    i = digits;
  }
  return total;
}

// sshd's argv_split: words split by blanks; quotes group; a backslash escapes a
// quote, a backslash or (outside quotes) a blank; '#' at a word's start ends the line.
std::optional<std::vector<std::string>> split_words(const std::string& text) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == '\t') {
      ++i;
      continue;
    }
    if (text[i] == '#') break;
    std::string word;
    char quote = 0;
    for (; i < text.size(); ++i) {
      char c = text[i];
      char next = i + 1 < text.size() ? text[i + 1] : '\0';
      if (c == '\\' && (next == '\'' || next == '"' || next == '\\' || (quote == 0 && next == ' '))) {
        word += next;
        ++i;
      } else if (quote == 0 && (c == ' ' || c == '\t')) {
        break;
      } else if (quote == 0 && (c == '"' || c == '\'')) {
        quote = c;
      } else if (quote != 0 && c == quote) {
        quote = 0;
      } else {
        word += c;
      }
    }
    if (quote != 0) return std::nullopt;
    words.push_back(word);
  }
  return words;
}

// sshd's wildcard patterns: '*' any run, '?' one character, nothing else special.
bool wildcard(std::string_view text, std::string_view pattern) {
  size_t t = 0, p = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++t;
      ++p;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// sshd's pattern lists: 1 when an entry matches, -1 when a negated one does (it wins), 0 otherwise.
int match_list(std::string value, const std::string& list, bool lower) {
  if (lower) value = to_lower(value);
  int result = 0;
  std::stringstream entries(list);
  for (std::string entry; std::getline(entries, entry, ',');) {
    bool negated = !entry.empty() && entry.front() == '!';
    if (negated) entry.erase(0, 1);
    if (entry.size() >= 1023) return 0;  // sshd gives up on the whole list
    if (wildcard(value, lower ? to_lower(entry) : entry)) {
      if (negated) return -1;
      result = 1;
    }
  }
  return result;
}

struct Address {
  int family = 0;
  std::array<unsigned char, 16> bytes{};
  unsigned bits = 0;
};

std::optional<Address> parse_address(const std::string& text) {
  Address address;
  if (::inet_pton(AF_INET, text.c_str(), address.bytes.data()) == 1) {
    address.family = AF_INET;
    address.bits = 32;
  } else if (::inet_pton(AF_INET6, text.c_str(), address.bytes.data()) == 1) {
    address.family = AF_INET6;
    address.bits = 128;
  } else {
    return std::nullopt;
  }
  return address;
}

enum class Cidr { kNetwork, kPattern, kInvalid };

// One entry of an address list as sshd reads it: a network (address, optional
// /bits, no host bits set), else a wildcard pattern; kInvalid when sshd refuses it.
// Throws when sshd would read an address we cannot (IPv4 shorthand such as 10.1,
// octal, a scope id).
Cidr parse_network(const std::string& entry, Address& network, const std::string& where) {
  if (entry.size() >= 64) return Cidr::kPattern;
  size_t slash = entry.find('/');
  std::string text = entry.substr(0, slash);
  std::optional<long long> bits;
  if (slash != std::string::npos) {
    std::string mask = entry.substr(slash + 1);
    if (mask.empty() || !std::isdigit(static_cast<unsigned char>(mask[0]))) return Cidr::kPattern;
    bits = number(mask, 128);
    if (!bits) return Cidr::kPattern;
  }
  auto address = parse_address(text);
  if (!address) {
    in_addr ignored{};
    if (text.find('%') != std::string::npos || ::inet_aton(text.c_str(), &ignored) != 0) {
      throw std::runtime_error(where + ": address \"" + entry + "\" is not understood");
    }
    return Cidr::kPattern;
  }
  if (bits) {
    if (*bits > address->bits) return Cidr::kInvalid;
    address->bits = static_cast<unsigned>(*bits);
  }
  for (unsigned bit = address->bits; bit < (address->family == AF_INET ? 32u : 128u); ++bit) {
    if (address->bytes[bit / 8] & (0x80 >> (bit % 8))) return Cidr::kInvalid;  // host bits set
  }
  network = *address;
  return Cidr::kNetwork;
}

bool in_network(const Address& host, const Address& network) {
  if (host.family != network.family) return false;
  for (unsigned bit = 0; bit < network.bits; ++bit) {
    unsigned char mask = 0x80 >> (bit % 8);
    if ((host.bytes[bit / 8] & mask) != (network.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

// sshd's address lists (CIDR or wildcards, '!' negates and wins); `address`
// empty only checks the list. Throws on a list sshd refuses.
bool match_addresses(const std::string& address, const std::string& list, const std::string& where) {
  std::optional<Address> host;
  if (!address.empty()) host = parse_address(address);
  bool matched = false, negated_match = false;
  // Every entry, empty ones too (sshd refuses those).
  std::vector<std::string> entries;
  for (size_t start = 0;;) {
    size_t comma = list.find(',', start);
    entries.push_back(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  for (std::string entry : entries) {
    bool negated = !entry.empty() && entry.front() == '!';
    if (negated) entry.erase(0, 1);
    if (entry.empty()) throw std::runtime_error(where + ": empty entry in address list \"" + list + "\"");
    Address network;
    Cidr kind = parse_network(entry, network, where);
    if (kind == Cidr::kInvalid) {
      throw std::runtime_error(where + ": invalid network \"" + entry + "\" (sshd refuses it)");
    }
    bool hit = host && (kind == Cidr::kNetwork ? in_network(*host, network) : wildcard(address, entry));
    if (hit && negated) negated_match = true;
    if (hit && !negated) matched = true;
  }
  return matched && !negated_match;
}

// One Match line: throws when sshd would refuse it or we cannot read it;
// `all` is set for "Match all"; returns whether it selects `context`.
bool match_line(const std::string& text, const SshdContext& context, const std::string& where, bool& all) {
  if (text.find('"') != std::string::npos) {
    throw std::runtime_error(where + ": quotes in a Match line are not understood");
  }
  std::string spaced = text;
  std::replace(spaced.begin(), spaced.end(), '=', ' ');
  std::istringstream in(spaced);
  std::vector<std::string> words;
  for (std::string word; in >> word;) {
    if (word.front() == '#') break;
    words.push_back(word);
  }
  all = false;
  if (words.empty()) throw std::runtime_error(where + ": Match without criteria");
  if (to_lower(words[0]) == "all") {
    if (words.size() > 1) throw std::runtime_error(where + ": Match all cannot be combined with other criteria");
    all = true;
    return true;
  }
  bool result = true;
  for (size_t i = 0; i < words.size(); i += 2) {
    std::string criterion = to_lower(words[i]);
    if (criterion == "all") throw std::runtime_error(where + ": Match all cannot be combined with other criteria");
    static const std::set<std::string> kKnown = {"user",         "group",     "host",   "address",
                                                 "localaddress", "localport", "rdomain"};
    if (kKnown.count(criterion) == 0) {
      throw std::runtime_error(where + ": Match criterion \"" + words[i] + "\" is not understood");
    }
    if (i + 1 >= words.size()) throw std::runtime_error(where + ": Match " + words[i] + " without a value");
    const std::string& list = words[i + 1];
    bool ok = false;
    if (criterion == "user") {
      ok = !context.user.empty() && match_list(context.user, list, false) == 1;
    } else if (criterion == "group") {
      // Any of the user's groups matching a negated entry means no match.
      std::stringstream groups(context.group);
      bool any = false, refused = false;
      for (std::string group; std::getline(groups, group, ',');) {
        int found = match_list(group, list, false);
        any = any || found == 1;
        refused = refused || found == -1;
      }
      ok = any && !refused;
    } else if (criterion == "host") {
      ok = !context.host.empty() && match_list(context.host, list, true) == 1;
    } else if (criterion == "address") {
      ok = match_addresses(context.address, list, where);
    } else if (criterion == "localaddress") {
      ok = match_addresses(context.local_address, list, where);
    } else if (criterion == "localport") {
      auto port = number(list, 65535);
      if (!port) {
        throw std::runtime_error(where + ": Match LocalPort \"" + list + "\" is not understood (one port number)");
      }
      auto local = number(context.local_port, 65535);
      ok = local && *local == *port;
    } else if (criterion == "rdomain") {
      ok = !context.rdomain.empty() && match_list(context.rdomain, list, false) == 1;
    }
    result = result && ok;
  }
  return result;
}

// The value of one keyword line as sshd -T prints it. Throws when sshd refuses
// the line; sets `problem` when sshd accepts it but we cannot tell what it
// prints (only an error when this line's value is the one a check reads).
std::string line_value(const Keyword& keyword, const std::string& rest, const std::string& where,
                       std::string& problem) {
  auto words = split_words(rest);
  if (!words) throw std::runtime_error(where + ": unbalanced quotes");
  if (keyword.kind == Kind::kIgnored) return rest;
  if (words->empty() || words->front().empty()) {
    throw std::runtime_error(where + ": " + std::string(keyword.name) + " without a value");
  }
  auto one_word = [&] {
    if (words->size() > 1) {
      throw std::runtime_error(where + ": " + std::string(keyword.name) + " takes one value, not \"" + rest + "\"");
    }
    return words->front();
  };
  auto refused = [&](const std::string& word) {
    return std::runtime_error(where + ": value \"" + word + "\" of " + std::string(keyword.name) +
                              " is not one sshd accepts");
  };
  switch (keyword.kind) {
    case Kind::kFlag:
    case Kind::kChoice:
    case Kind::kExact: {
      std::string word = one_word();
      auto printed = choice(keyword, word);
      if (!printed) throw refused(word);
      return *printed;
    }
    case Kind::kNumber: {
      std::string word = one_word();
      auto value = number(word, INT_MAX);
      if (!value) throw refused(word);
      return std::to_string(*value);
    }
    case Kind::kTime: {
      std::string word = one_word();
      auto value = seconds(word);
      if (!value) throw refused(word);
      return std::to_string(*value);
    }
    case Kind::kPath: {
      std::string word = one_word();
      if (to_lower(word) == "none") return "none";
      if (word.front() != '/') {
        problem =
            where + ": " + std::string(keyword.name) + " \"" + word + "\" is not understood (not an absolute path)";
      }
      return word;
    }
    case Kind::kAlgorithms: {
      std::string word = one_word();
      if (word.front() == '+' || word.front() == '-' || word.front() == '^') {
        problem = where + ": " + std::string(keyword.name) + " \"" + word +
                  "\" is not understood (it edits sshd's built-in list)";
      }
      return word;
    }
    case Kind::kCommand:
      if (to_lower(words->front()) != "none" && words->front().front() != '/') {
        throw std::runtime_error(where + ": " + std::string(keyword.name) + " must be an absolute path or none");
      }
      return rest;
    case Kind::kLine: return rest;
    case Kind::kText:
    case Kind::kAccumulate:
    case Kind::kList:
    case Kind::kIgnored:
    case Kind::kUnread: break;
  }
  std::string joined;
  for (const auto& word : *words) joined += (joined.empty() ? "" : " ") + word;
  return joined;
}

struct Scan {
  const std::filesystem::path& root;
  const Keyword& wanted;
  const SshdContext& context;
  // First pass: every line, only "Match all" blocks active. Second pass: the
  // blocks that select the connection.
  struct Found {
    ConfigValue value;
    std::string problem;  // why the value cannot be read exactly, if it cannot
  };
  std::optional<Found> first, second;
  int first_count = 0, second_count = 0;

  struct State {
    bool active1 = true, active2 = false;
  };
  struct Flags {
    bool never1 = false, never2 = false, match_only2 = true;
  };

  void read(const std::filesystem::path& file, Flags flags, State& state, int depth) {
    std::string content = read_text(root, file);
    std::istringstream lines(content);
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number) {
      std::string where = file.string() + ":" + std::to_string(number);
      if (line.find('\0') != std::string::npos) throw std::runtime_error(where + ": a NUL byte is not understood");
      while (!line.empty() && std::strchr(" \t\r\n\f", line.back()) != nullptr) line.pop_back();
      size_t start = line.find_first_not_of(" \t\r\n");
      if (start == std::string::npos || line[start] == '#') continue;
      size_t end = line.find_first_of(" \t\r\n=\"", start);
      std::string name = line.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (name.empty() || (end != std::string::npos && line[end] == '"')) {
        throw std::runtime_error(where + ": line \"" + line + "\" is not understood");
      }
      std::string rest;
      if (end != std::string::npos) {
        size_t next = line.find_first_not_of(" \t\r\n", end + 1);
        if (line[end] != '=' && next != std::string::npos && line[next] == '=') {
          next = line.find_first_not_of(" \t\r\n", next + 1);
        }
        if (next != std::string::npos) rest = line.substr(next);
      }
      if (rest.empty()) throw std::runtime_error(where + ": " + name + " without a value");
      std::string lower = to_lower(name);
      if (lower == "include") {
        include(rest, where, flags, state, depth);
        continue;
      }
      if (lower == "match") {
        bool all = false;
        bool selects = match_line(rest, context, where, all);
        state.active1 = !flags.never1 && all;
        state.active2 = !flags.never2 && selects;
        flags.match_only2 = false;
        continue;
      }
      const Keyword* keyword = find_keyword(name);
      if (keyword == nullptr) {
        throw std::runtime_error(where + ": keyword \"" + name + "\" is not one sshd accepts (sshd refuses the file)");
      }
      if (!state.active1 && keyword->global_only) {
        throw std::runtime_error(where + ": " + name + " is not allowed within a Match block (sshd refuses the file)");
      }
      std::string problem;
      std::string value = line_value(*keyword, rest, where, problem);
      if (canonical_name(*keyword) != canonical_name(wanted)) continue;
      Found found{{value, where}, problem};
      auto set = [&](std::optional<Found>& slot, int& count) {
        ++count;
        if (!slot) {
          slot = found;
        } else if (wanted.kind == Kind::kAccumulate) {
          slot->value.value += " " + value;
          slot->value.origin += ", " + where;
        }
      };
      if (state.active1) set(first, first_count);
      if (state.active2 && !wanted.global_only) set(second, second_count);
    }
  }

  void include(const std::string& rest, const std::string& where, const Flags& flags, State& state, int depth) {
    auto patterns = split_words(rest);
    if (!patterns || patterns->empty()) throw std::runtime_error(where + ": Include is not understood");
    for (std::string pattern : *patterns) {
      if (pattern.empty() || pattern.front() == '~') {
        throw std::runtime_error(where + ": Include \"" + pattern + "\" is not understood");
      }
      if (pattern.front() != '/') pattern = "/etc/ssh/" + pattern;
      State saved = state;
      Flags child;
      child.never1 = !saved.active1;
      child.match_only2 = flags.match_only2;
      child.never2 = !flags.match_only2 && !saved.active2;
      for (const auto& included : glob_under(root, pattern)) {
        if (depth + 1 > 16) throw std::runtime_error(where + ": Include nested more than 16 deep (sshd refuses it)");
        read(included, child, state, depth + 1);
        state = saved;
      }
    }
  }
};

}  // namespace

std::optional<ConfigValue> sshd_value(const std::filesystem::path& root, const std::filesystem::path& file,
                                      std::string_view keyword, const SshdContext& context) {
  const Keyword* wanted = find_keyword(keyword);
  if (wanted == nullptr || to_lower(keyword) == "include" || to_lower(keyword) == "match") {
    throw std::runtime_error(std::string(keyword) + " is not an sshd keyword a check can read");
  }
  if (wanted->kind == Kind::kIgnored) {
    throw std::runtime_error(std::string(keyword) + " is deprecated or unsupported: sshd ignores it");
  }
  if (wanted->kind == Kind::kUnread) {
    throw std::runtime_error(std::string(keyword) + " is not read by this reader (sshd -T prints it in another form)");
  }
  Scan scan{root, *wanted, context, {}, {}, 0, 0};
  Scan::State state;
  scan.read(file, Scan::Flags{}, state, 0);
  if (wanted->kind == Kind::kList && (scan.first_count > 1 || scan.second_count > 1)) {
    throw std::runtime_error(std::string(keyword) +
                             " is set on several lines, which sshd combines; combining them is not understood");
  }
  const auto& found = scan.second ? scan.second : scan.first;
  if (!found) return std::nullopt;
  if (!found->problem.empty()) throw std::runtime_error(found->problem);
  return found->value;
}

std::string sshd_normalized(std::string_view keyword, const std::string& value) {
  const Keyword* known = find_keyword(keyword);
  if (known == nullptr) return value;
  try {
    switch (known->kind) {
      case Kind::kFlag:
      case Kind::kChoice:
      case Kind::kExact:
      case Kind::kNumber:
      case Kind::kTime:
      case Kind::kPath: {
        std::string problem;
        return line_value(*known, value, "", problem);
      }
      default: return value;
    }
  } catch (const std::runtime_error&) {
    return value;  // not a value sshd accepts: compared as written
  }
}

}  // namespace vigil::policy
