// Downloads a plugin file that the trusted targets metadata lists into a
// module's inactive slot (docs/design/self-patch.md, "Download steps"): into
// a partial file named after its sha256, in chunks by sha256 (a restart
// resumes from the partial file's size), fsync, then its length and hashes checked against targets,
// then renamed onto the slot. A truncated or tampered download never becomes
// a slot file; the active slot's file is never opened for writing.
#pragma once

#include <filesystem>
#include <string>

#include "link/link_settings.h"
#include "link/platform_connection.h"
#include "vigil/result/result.h"
#include "vigil/tuf/metadata.h"

namespace vigil {

struct PluginDownload {
  std::string module;
  std::string version;
  tuf::TargetFile target;
  std::filesystem::path slot_file;  // <data>/plugin-slots/<module>/<slot>.so
};

// The outcome says how many bytes came over the network this time. A file
// that does not match targets is kInvalidArgument (refused); a transfer cut
// short is kUnavailable (resume later).
Result<int64_t> download_plugin(PlatformConnection& connection, const LinkSettings& settings,
                                const PluginDownload& download);

}  // namespace vigil
