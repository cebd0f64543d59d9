// The account databases (/etc/passwd, /etc/group, /etc/shadow): lines of
// fields separated by ':', read as text so no NSS module is involved.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::accounts {

// One line split at every ':', empty fields kept ("a::" has three fields).
using Record = std::vector<std::string>;

// Every non-empty line of the text, in order. Comments are not special: a
// caller that skips '#' lines does so itself.
std::vector<Record> parse_records(std::string_view text);
// nullopt when `file` cannot be read.
std::optional<std::vector<Record>> read_records(const std::filesystem::path& file);

// passwd and group: the id (third field) -> the name; records without a
// numeric id are left out, and the first record of an id wins.
std::map<uint32_t, std::string> id_names(const std::vector<Record>& records);

}  // namespace vigil::accounts
