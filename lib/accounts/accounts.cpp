#include "vigil/accounts/accounts.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace vigil::accounts {

std::vector<Record> parse_records(std::string_view text) {
  std::vector<Record> records;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.empty()) continue;
    Record fields;
    size_t start = 0;
    for (size_t colon; (colon = line.find(':', start)) != std::string_view::npos; start = colon + 1) {
      fields.emplace_back(line.substr(start, colon - start));
    }
    fields.emplace_back(line.substr(start));
    records.push_back(std::move(fields));
  }
  return records;
}

std::optional<std::vector<Record>> read_records(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return parse_records(text.str());
}

std::map<uint32_t, std::string> id_names(const std::vector<Record>& records) {
  std::map<uint32_t, std::string> names;
  for (const auto& record : records) {
    if (record.size() < 3) continue;
    const std::string& id = record[2];
    uint32_t number = 0;
    auto [end, error] = std::from_chars(id.data(), id.data() + id.size(), number);
    if (id.empty() || error != std::errc() || end != id.data() + id.size()) continue;
    names.emplace(number, record[0]);
  }
  return names;
}

}  // namespace vigil::accounts
