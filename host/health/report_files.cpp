#include "health/report_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <vector>

namespace vigil::health {
namespace {

namespace fs = std::filesystem;

Status write_file(const fs::path& file, const std::string& text) {
  fs::path temporary = file;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return Error{"cannot write " + temporary.string()};
  }
  ::chmod(temporary.c_str(), 0640);
  std::error_code error;
  fs::rename(temporary, file, error);
  if (error) return Error{"cannot rename " + temporary.string() + " to " + file.string() + ": " + error.message()};
  return Status::Ok();
}

void keep_newest(const fs::path& directory, const std::string& extension) {
  std::vector<fs::path> reports;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with("health-") && entry.path().extension() == extension) reports.push_back(entry.path());
  }
  if (reports.size() <= kKeptReports) return;
  std::sort(reports.begin(), reports.end());  // the names sort by time
  for (size_t i = 0; i + kKeptReports < reports.size(); ++i) fs::remove(reports[i], error);
}

}  // namespace

Result<WrittenReports> write_reports(const fs::path& directory, const Report& report) {
  std::error_code error;
  fs::create_directories(directory, error);
  if (error) return Error{"cannot create " + directory.string() + ": " + error.message()};
  ::chmod(directory.c_str(), 0750);
  // "2026-12-02T09:40:00Z" -> "20261202T094000Z": sortable, no ':' for other file systems.
  std::string stamp = report.facts.value("timestamp", std::string("unknown"));
  stamp.erase(std::remove_if(stamp.begin(), stamp.end(), [](char c) { return c == '-' || c == ':'; }), stamp.end());
  WrittenReports written{directory / ("health-" + stamp + ".txt"), directory / ("health-" + stamp + ".json")};
  if (Status text = write_file(written.text, short_text(report)); !text.ok()) return Error{text.error()};
  if (Status json = write_file(written.json, report_json(report).dump(2) + "\n"); !json.ok())
    return Error{json.error()};
  keep_newest(directory, ".txt");
  keep_newest(directory, ".json");
  return written;
}

}  // namespace vigil::health
