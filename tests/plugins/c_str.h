/* For the C test plugins: a NUL-terminated string as a vigil_str. */
#ifndef VIGIL_TEST_C_STR_H
#define VIGIL_TEST_C_STR_H

#include <vigil/plugin.h>

#include <string.h>

static inline vigil_str str(const char* text) {
  vigil_str s;
  s.ptr = text;
  s.len = strlen(text);
  return s;
}

#endif
