#include "vigil/tuf/canonical_json.h"

#include <cstdint>
#include <limits>
#include <set>
#include <vector>

namespace vigil::tuf {

namespace {

constexpr int kMaxDepth = 32;

// What the parser callback found wrong; the first problem wins.
struct StrictChecks {
  std::vector<std::set<std::string>> keys_per_object;
  std::string problem;

  void refuse(std::string text) {
    if (problem.empty()) problem = std::move(text);
  }
};

// Only \ and " are escaped; everything else stays raw UTF-8, control characters included.
void write_string(const std::string& text, std::string& out) {
  out += '"';
  for (char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  out += '"';
}

Status write_canonical(const nlohmann::json& value, std::string& out) {
  using Type = nlohmann::json::value_t;
  switch (value.type()) {
    case Type::object: {
      out += '{';
      bool first = true;
      // nlohmann's object is a std::map<std::string, …>: members come in byte order.
      for (const auto& member : value.items()) {
        if (!first) out += ',';
        first = false;
        write_string(member.key(), out);
        out += ':';
        if (Status written = write_canonical(member.value(), out); !written) return written;
      }
      out += '}';
      return Status::Ok();
    }
    case Type::array: {
      out += '[';
      bool first = true;
      for (const auto& element : value) {
        if (!first) out += ',';
        first = false;
        if (Status written = write_canonical(element, out); !written) return written;
      }
      out += ']';
      return Status::Ok();
    }
    case Type::string: write_string(value.get_ref<const std::string&>(), out); return Status::Ok();
    case Type::number_integer: out += std::to_string(value.get<int64_t>()); return Status::Ok();
    case Type::number_unsigned: out += std::to_string(value.get<uint64_t>()); return Status::Ok();
    case Type::boolean: out += value.get<bool>() ? "true" : "false"; return Status::Ok();
    case Type::null: out += "null"; return Status::Ok();
    case Type::number_float: return Error{"a float has no canonical form", ErrorCode::kInvalidArgument};
    case Type::binary:
    case Type::discarded: break;
  }
  return Error{"a binary value has no canonical form", ErrorCode::kInvalidArgument};
}

}  // namespace

Result<nlohmann::json> parse_strict(std::string_view bytes, size_t limit) {
  if (bytes.size() > limit) {
    return Error{std::to_string(bytes.size()) + " bytes, more than the " + std::to_string(limit) + " allowed",
                 ErrorCode::kInvalidArgument};
  }
  StrictChecks checks;
  auto callback = [&checks](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (depth > kMaxDepth) checks.refuse("nested deeper than " + std::to_string(kMaxDepth));
    switch (event) {
      case Event::object_start: checks.keys_per_object.emplace_back(); break;
      case Event::object_end:
        if (!checks.keys_per_object.empty()) checks.keys_per_object.pop_back();
        break;
      case Event::key:
        if (!checks.keys_per_object.empty() &&
            !checks.keys_per_object.back().insert(parsed.get<std::string>()).second) {
          checks.refuse("the key '" + parsed.get<std::string>() + "' appears twice in one object");
        }
        break;
      case Event::value:
        if (parsed.is_number_float()) checks.refuse("a number that is not an integer");
        if (parsed.is_number_unsigned() &&
            parsed.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          checks.refuse("an integer larger than int64");
        }
        break;
      case Event::array_start:
      case Event::array_end: break;
    }
    return true;
  };
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(bytes.begin(), bytes.end(), callback);
  } catch (const nlohmann::json::parse_error& error) {
    return Error{std::string("not JSON: ") + error.what(), ErrorCode::kInvalidArgument};
  }
  if (!checks.problem.empty()) return Error{checks.problem, ErrorCode::kInvalidArgument};
  return value;
}

Result<std::string> canonical(const nlohmann::json& value) {
  std::string out;
  if (Status written = write_canonical(value, out); !written) return written.failure();
  return out;
}

}  // namespace vigil::tuf
