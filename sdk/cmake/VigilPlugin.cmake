# vigil_add_plugin(<target> SOURCES ...): a Vigil plugin shared library built
# the way the host expects: C++20, no "lib" prefix, no undefined symbols, and
# exactly one exported symbol, the entry point. Hidden visibility alone does
# not get there: the C++ runtime's headers export template data (e.g. the digit
# table of std::to_string) as GNU unique symbols, and glibc never unloads a
# library with one, so a reload would keep running the old code. Hence
# -fno-gnu-unique, and a version script that keeps every other symbol local.
function(vigil_add_plugin target)
  set(version_script ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/vigil-plugin.map)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE VigilSDK::sdk)
  target_compile_features(${target} PRIVATE cxx_std_20)
  set_target_properties(${target} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden
                                             VISIBILITY_INLINES_HIDDEN ON LINK_DEPENDS ${version_script})
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANG_AND_ID:CXX,GNU>:-fno-gnu-unique>)
  target_link_options(${target} PRIVATE -Wl,--no-undefined -Wl,--version-script=${version_script})
endfunction()
