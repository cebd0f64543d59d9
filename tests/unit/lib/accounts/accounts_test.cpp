// passwd, group and shadow records.
#include "vigil/accounts/accounts.h"

#include <gtest/gtest.h>

#include <map>

namespace vigil {
namespace {

TEST(Accounts, RecordsKeepEmptyFieldsAndIdsMustBeNumbers) {
  auto records = accounts::parse_records("root:x:0:0:root:/root:/bin/bash\n\nnobody:x:65534:\n+::::::\nbad:x:12a:\n");
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].size(), 7u);
  EXPECT_EQ(records[1], (accounts::Record{"nobody", "x", "65534", ""}));
  EXPECT_EQ(records[2][0], "+");
  auto names = accounts::id_names(records);
  EXPECT_EQ(names, (std::map<uint32_t, std::string>{{0, "root"}, {65534, "nobody"}}));
  EXPECT_FALSE(accounts::read_records("/nonexistent/passwd"));
}

}  // namespace
}  // namespace vigil
