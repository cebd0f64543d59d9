// The host service table called directly, as a plugin in any language would:
// argument checks, registration only during init, no ownership surprises.
#include "plugin/host_api.h"

#include <gtest/gtest.h>

#include "plugin/plugin_context.h"
#include "plugin_fixture.h"
#include "store/config_table.h"
#include "store/snapshots.h"
#include "vigil/agent/v1/agent.pb.h"

namespace vigil {
namespace {

vigil_str str(std::string_view text) {
  return {text.data(), text.size()};
}

vigil_status noop_handler(void*, vigil_scan*, vigil_str, vigil_str) {
  return VIGIL_OK;
}

class HostApi : public test::PluginFixture {
 protected:
  void SetUp() override {
    PluginFixture::SetUp();
    context_.module = "probe";
    context_.logger = logs_->module("probe");
    context_.store = store_.get();
  }
  vigil_plugin_host context_;
  const vigil_host_api* api_ = host_api();
};

TEST_F(HostApi, Table_StartsWithSizeAndVersion) {
  EXPECT_EQ(api_->struct_size, sizeof(vigil_host_api));
  EXPECT_EQ(api_->abi_version, VIGIL_ABI_VERSION);
  EXPECT_TRUE(VIGIL_HAS_FIELD(vigil_host_api, api_->struct_size, set_error));
  EXPECT_FALSE(VIGIL_HAS_FIELD(vigil_host_api, 16, log_enabled));
}

TEST_F(HostApi, Registration_OutsideInit_IsAStateError) {
  EXPECT_EQ(api_->register_manifest_handler(&context_, str("probe"), noop_handler, nullptr), VIGIL_E_STATE);
  EXPECT_EQ(api_->set_default_cpu_limit(&context_, 10), VIGIL_E_STATE);
  EXPECT_EQ(api_->set_on_demand_key(&context_, str("Probe")), VIGIL_E_STATE);
  EXPECT_EQ(api_->set_scan_on_start(&context_, 1), VIGIL_E_STATE);
  EXPECT_FALSE(context_.scan_on_start);
}

TEST_F(HostApi, Registration_ValidatesArguments) {
  context_.registering = true;
  EXPECT_EQ(api_->set_default_cpu_limit(&context_, 0), VIGIL_E_INVALID_ARG);
  EXPECT_EQ(api_->set_default_cpu_limit(&context_, 101), VIGIL_E_INVALID_ARG);
  EXPECT_EQ(api_->set_on_demand_key(&context_, str("bad key")), VIGIL_E_INVALID_ARG);
  EXPECT_EQ(api_->set_scan_on_start(&context_, 2), VIGIL_E_INVALID_ARG);
  EXPECT_EQ(api_->set_scan_on_start(&context_, 1), VIGIL_OK);
  EXPECT_TRUE(context_.scan_on_start);
  EXPECT_EQ(api_->register_manifest_handler(&context_, str("probe"), nullptr, nullptr), VIGIL_E_INVALID_ARG);
  EXPECT_EQ(api_->register_manifest_handler(&context_, str("probe"), noop_handler, nullptr), VIGIL_OK);
  EXPECT_EQ(api_->register_manifest_handler(&context_, str("probe"), noop_handler, nullptr), VIGIL_E_INVALID_ARG);
  EXPECT_EQ(api_->register_manifest_handler(&context_, vigil_str{nullptr, 3}, noop_handler, nullptr),
            VIGIL_E_INVALID_ARG);
}

TEST_F(HostApi, NameLimits_AreTheOnesPluginHDocuments) {
  context_.registering = true;
  std::string key(VIGIL_KEY_NAME_MAX, 'k');
  EXPECT_EQ(api_->set_on_demand_key(&context_, str(key)), VIGIL_OK);
  EXPECT_EQ(api_->set_on_demand_key(&context_, str(key + "k")), VIGIL_E_INVALID_ARG);
  EXPECT_EQ(api_->register_manifest_handler(&context_, str(key), noop_handler, nullptr), VIGIL_OK);
  EXPECT_EQ(api_->register_manifest_handler(&context_, str(key + "k"), noop_handler, nullptr), VIGIL_E_INVALID_ARG);
  EXPECT_TRUE(is_valid_name(std::string(VIGIL_COLUMN_NAME_MAX, 'c'), false, VIGIL_COLUMN_NAME_MAX));
  EXPECT_FALSE(is_valid_name(std::string(VIGIL_COLUMN_NAME_MAX + 1, 'c'), false, VIGIL_COLUMN_NAME_MAX));
}

TEST_F(HostApi, Strings_NeedNoTerminatingNul) {
  context_.registering = true;
  const char buffer[] = "KeyNameTRAILING";
  ASSERT_EQ(api_->set_on_demand_key(&context_, vigil_str{buffer, 7}), VIGIL_OK);
  EXPECT_EQ(context_.on_demand_key, "KeyName");
}

TEST_F(HostApi, Log_RejectsUnknownLevels) {
  EXPECT_EQ(api_->log(&context_, VIGIL_LOG_INFO, str("hello")), VIGIL_OK);
  EXPECT_EQ(api_->log(&context_, 6, str("hello")), VIGIL_E_INVALID_ARG);
  EXPECT_EQ(api_->log(&context_, -1, str("hello")), VIGIL_E_INVALID_ARG);
  EXPECT_EQ(api_->log_enabled(&context_, VIGIL_LOG_TRACE), 1);  // the fixture logs at 5
  logs_->set_level(2);
  EXPECT_EQ(api_->log_enabled(&context_, VIGIL_LOG_INFO), 0);
}

TEST_F(HostApi, State_MissingKeyIsNotFound) {
  std::string seen = "untouched";
  auto capture = [](void* user, vigil_str value) { static_cast<std::string*>(user)->assign(value.ptr, value.len); };
  EXPECT_EQ(api_->state_get(&context_, str("k"), capture, &seen), VIGIL_E_NOT_FOUND);
  EXPECT_EQ(seen, "untouched");
  EXPECT_EQ(api_->state_delete(&context_, str("k")), VIGIL_E_NOT_FOUND);
  EXPECT_EQ(api_->state_set(&context_, str("k"), str("v")), VIGIL_OK);
  EXPECT_EQ(api_->state_get(&context_, str("k"), capture, &seen), VIGIL_OK);
  EXPECT_EQ(seen, "v");
  EXPECT_EQ(api_->state_set(&context_, str(""), str("v")), VIGIL_E_INVALID_ARG);
}

TEST_F(HostApi, EmitRow_ValidatesEveryPart) {
  vigil_scan scan(&context_, 100);
  SnapshotWriter rows(store_->snapshots(), store_->snapshots().begin("probe", 0).value());
  scan.rows = &rows;
  vigil_column key{str("id"), str("1")};
  vigil_column value{str("name"), str("x")};
  EXPECT_EQ(api_->emit_row(&scan, str("t"), &key, 1, &value, 1), VIGIL_OK);
  EXPECT_EQ(api_->emit_row(&scan, str("t"), &key, 0, &value, 1), VIGIL_E_INVALID_ARG);
  EXPECT_NE(scan.error.find("at least one key column"), std::string::npos);
  EXPECT_EQ(api_->emit_row(&scan, str("t"), nullptr, 2, nullptr, 0), VIGIL_E_INVALID_ARG);
  vigil_column bad_name{str("no spaces"), str("1")};
  EXPECT_EQ(api_->emit_row(&scan, str("t"), &bad_name, 1, nullptr, 0), VIGIL_E_INVALID_ARG);
  vigil_column same[2] = {{str("id"), str("2")}, {str("id"), str("3")}};
  EXPECT_EQ(api_->emit_row(&scan, str("t"), same, 2, nullptr, 0), VIGIL_E_INVALID_ARG);
  EXPECT_NE(scan.error.find("given twice"), std::string::npos);
  vigil_column not_utf8{str("id"), str("\xff\xfe")};
  EXPECT_EQ(api_->emit_row(&scan, str("t"), &not_utf8, 1, nullptr, 0), VIGIL_E_INVALID_ARG);
  EXPECT_NE(scan.error.find("not valid UTF-8"), std::string::npos);
  EXPECT_EQ(rows.rows(), 1);
}

TEST_F(HostApi, EmitRow_WithoutASnapshot_IsAStateError) {
  vigil_scan scan(&context_, 100);
  vigil_column key{str("id"), str("1")};
  EXPECT_EQ(api_->emit_row(&scan, str("t"), &key, 1, nullptr, 0), VIGIL_E_STATE);
  EXPECT_NE(scan.error.find("takes no rows"), std::string::npos);
}

TEST_F(HostApi, Checkpoint_ReportsCancellation) {
  vigil_scan scan(&context_, 100);
  EXPECT_EQ(api_->checkpoint(&scan), VIGIL_OK);
  context_.cancel_scans = true;
  EXPECT_EQ(api_->checkpoint(&scan), VIGIL_E_CANCELLED);
}

TEST_F(HostApi, EmitEvent_NeedsASinkAndValidNames) {
  vigil_column column{str("path"), str("/etc/passwd")};
  EXPECT_EQ(api_->emit_event(&context_, str("fs"), &column, 1), VIGIL_E_UNSUPPORTED);
  struct Collect : EventSink {
    void add(const std::string& module, std::string event) override { seen.push_back(module + " " + event); }
    std::vector<std::string> seen;
  } sink;
  context_.events = &sink;
  EXPECT_EQ(api_->emit_event(&context_, str("bad table"), &column, 1), VIGIL_E_INVALID_ARG);
  vigil_column not_utf8{str("path"), str("\xff")};
  EXPECT_EQ(api_->emit_event(&context_, str("fs"), &not_utf8, 1), VIGIL_E_INVALID_ARG);
  ASSERT_EQ(api_->emit_event(&context_, str("fs"), &column, 1), VIGIL_OK);
  ASSERT_EQ(sink.seen.size(), 1u);
  ASSERT_EQ(sink.seen[0].rfind("probe ", 0), 0u);
  agent::v1::Event event;
  ASSERT_TRUE(event.ParseFromString(sink.seen[0].substr(6)));
  EXPECT_EQ(event.table(), "fs");
  ASSERT_EQ(event.values_size(), 1);
  EXPECT_EQ(event.values(0).name(), "path");
  EXPECT_EQ(event.values(0).value(), "/etc/passwd");
  EXPECT_GT(event.time_ms(), 1'700'000'000'000);
}

vigil_setting integer_setting(std::string_view name, int64_t min, int64_t max, std::string_view fallback) {
  vigil_setting setting{};
  setting.struct_size = sizeof(vigil_setting);
  setting.abi_version = VIGIL_ABI_VERSION;
  setting.name = str(name);
  setting.kind = VIGIL_SETTING_INTEGER;
  setting.min = min;
  setting.max = max;
  setting.default_value = str(fallback);
  setting.description = str("threads");
  return setting;
}

void take(void* user, vigil_str value) {
  static_cast<std::string*>(user)->assign(value.ptr, value.len);
}

TEST_F(HostApi, SetCondition_KeepsOnePerCodeUntilCleared) {
  EXPECT_EQ(api_->set_condition(&context_, str("watch-limit"), VIGIL_CONDITION_WARNING,
                                str("1204 directories unwatched"), str("raise the limit")),
            VIGIL_OK);
  EXPECT_EQ(api_->set_condition(&context_, str("watch-limit"), VIGIL_CONDITION_CRITICAL, str("all unwatched"),
                                str("raise the limit")),
            VIGIL_OK);  // the same code replaces the earlier report
  ASSERT_EQ(context_.conditions.size(), 1u);
  EXPECT_EQ(context_.conditions["watch-limit"].severity, VIGIL_CONDITION_CRITICAL);
  EXPECT_EQ(context_.conditions["watch-limit"].description, "all unwatched");
  // Refused: a bad code, severity, missing or oversized text, text that is not UTF-8.
  EXPECT_EQ(api_->set_condition(&context_, str("Bad_Code"), VIGIL_CONDITION_INFO, str("x"), str("y")),
            VIGIL_E_INVALID_ARG);
  EXPECT_EQ(api_->set_condition(&context_, str("other"), 7, str("x"), str("y")), VIGIL_E_INVALID_ARG);
  EXPECT_EQ(api_->set_condition(&context_, str("other"), VIGIL_CONDITION_INFO, str(""), str("y")), VIGIL_E_INVALID_ARG);
  std::string long_text(1025, 'a');
  EXPECT_EQ(api_->set_condition(&context_, str("other"), VIGIL_CONDITION_INFO, str(long_text), str("y")),
            VIGIL_E_INVALID_ARG);
  EXPECT_EQ(api_->set_condition(&context_, str("other"), VIGIL_CONDITION_INFO, str("\xff"), str("y")),
            VIGIL_E_INVALID_ARG);
  EXPECT_EQ(context_.conditions.size(), 1u);
  EXPECT_EQ(api_->set_condition(&context_, str("watch-limit"), VIGIL_CONDITION_CLEAR, str(""), str("")), VIGIL_OK);
  EXPECT_TRUE(context_.conditions.empty());
}

TEST_F(HostApi, DeclareSetting_IsCheckedAndGivesItsDefault) {
  vigil_setting threads = integer_setting("Threads", 1, 8, "2");
  EXPECT_EQ(api_->declare_setting(&context_, &threads), VIGIL_E_STATE);  // only during init
  context_.registering = true;
  EXPECT_EQ(api_->declare_setting(&context_, &threads), VIGIL_OK);
  EXPECT_EQ(api_->declare_setting(&context_, &threads), VIGIL_E_INVALID_ARG);  // twice
  vigil_setting agent_owned = integer_setting("CpuLimit", 1, 100, "50");
  EXPECT_EQ(api_->declare_setting(&context_, &agent_owned), VIGIL_E_INVALID_ARG);
  vigil_setting bad_default = integer_setting("Other", 1, 8, "9");
  EXPECT_EQ(api_->declare_setting(&context_, &bad_default), VIGIL_E_INVALID_ARG);
  vigil_setting bad_name = integer_setting("bad name", 1, 8, "2");
  EXPECT_EQ(api_->declare_setting(&context_, &bad_name), VIGIL_E_INVALID_ARG);
  vigil_setting choice = integer_setting("Mode", 0, 0, "fast");
  choice.kind = VIGIL_SETTING_CHOICE;
  EXPECT_EQ(api_->declare_setting(&context_, &choice), VIGIL_E_INVALID_ARG);  // no choices
  vigil_str modes[] = {str("fast"), str("slow")};
  choice.choices = modes;
  choice.choice_count = 2;
  EXPECT_EQ(api_->declare_setting(&context_, &choice), VIGIL_OK);
  context_.registering = false;
  ASSERT_EQ(context_.settings.size(), 2u);
  EXPECT_EQ(context_.settings[1].choices, (std::vector<std::string>{"fast", "slow"}));

  // Unset: the default; a value that fits: it; one that does not: the default again.
  std::string value;
  EXPECT_EQ(api_->config_get(&context_, str("Threads"), take, &value), VIGIL_OK);
  EXPECT_EQ(value, "2");
  ASSERT_TRUE(store_->config().set("probe.Threads", "4").ok());
  EXPECT_EQ(api_->config_get(&context_, str("Threads"), take, &value), VIGIL_OK);
  EXPECT_EQ(value, "4");
  ASSERT_TRUE(store_->config().set("probe.Threads", "99").ok());
  EXPECT_EQ(api_->config_get(&context_, str("Threads"), take, &value), VIGIL_OK);
  EXPECT_EQ(value, "2");
  EXPECT_EQ(api_->config_get(&context_, str("Undeclared"), take, &value), VIGIL_E_NOT_FOUND);
}

TEST(Names, ValidNamesFollowTheDocumentedAlphabet) {
  EXPECT_TRUE(is_valid_name("network_interfaces", false, 128));
  EXPECT_FALSE(is_valid_name("with-dash", false, 128));
  EXPECT_TRUE(is_valid_name("with-dash", true, 128));
  EXPECT_FALSE(is_valid_name("", true, 128));
  EXPECT_FALSE(is_valid_name("toolong", true, 3));
}

TEST(StatusNames, EveryCodeHasWordsAndAnUnknownOneKeepsItsNumber) {
  EXPECT_EQ(status_name(VIGIL_OK), "ok");
  EXPECT_EQ(status_name(VIGIL_E_INTERNAL), "internal error");
  EXPECT_EQ(status_name(VIGIL_E_TIMEOUT), "timed out");
  for (vigil_status status = VIGIL_OK; status <= VIGIL_E_TIMEOUT; ++status) {
    EXPECT_STRNE(vigil_status_name(status), "unknown status") << status;
  }
  EXPECT_STREQ(vigil_status_name(42), "unknown status");
  EXPECT_EQ(status_name(42), "unknown status 42");
}

}  // namespace
}  // namespace vigil
