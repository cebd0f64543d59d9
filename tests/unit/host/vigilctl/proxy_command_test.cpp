// vigilctl proxy: the slash options it takes, as words of its own.
#include "vigilctl/proxy_command.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil {
namespace {

TEST(ProxyCommand, TranslatesTheSlashForms) {
  auto words = translate_proxy_slash_options({"/u", "http://a:1;http://b:2", "/N:bob", "/p", "x", "/a", "/c", "/d",
                                              "/w", "on", "/h", "off", "/t", "off", "/etc/other"});
  std::vector<std::string> expected = {"--url",      "http://a:1;http://b:2",
                                       "--user",     "bob",
                                       "--password", "x",
                                       "--pac",      "--show",
                                       "--delete",   "--wpad",
                                       "on",         "--system",
                                       "off",        "--direct-fallback",
                                       "off",        "/etc/other"};
  EXPECT_EQ(words, expected);
}

}  // namespace
}  // namespace vigil
