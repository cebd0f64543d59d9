// Log configuration: the levels and destinations the settings may name.
#include <gtest/gtest.h>

#include "log/log_manager.h"

namespace vigil {
namespace {

TEST(LogConfig, LevelsAndDestinationsAreValidated) {
  EXPECT_EQ(parse_log_level("0").value(), 0);
  EXPECT_EQ(parse_log_level("5").value(), 5);
  EXPECT_FALSE(parse_log_level("6").ok());
  EXPECT_FALSE(parse_log_level("").ok());
  EXPECT_NE(parse_log_level("x").error().find("LogLevel"), std::string::npos);
  EXPECT_EQ(parse_log_destination("syslog").value(), LogDestination::kSyslog);
  EXPECT_FALSE(parse_log_destination("File").ok());
  EXPECT_EQ(to_spdlog_level(0), spdlog::level::critical);
  EXPECT_EQ(to_spdlog_level(5), spdlog::level::trace);
}

}  // namespace
}  // namespace vigil
