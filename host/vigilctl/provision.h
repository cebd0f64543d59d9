// vigilctl provision: validates the identity settings, writes them to the
// state store in one transaction and has a running vigild act on them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/paths.h"

namespace vigil {

struct ProvisionOptions {
  // Key=Value pairs as typed (CustomerId=…, ActivationId=…, WebServiceUri=…,
  // ServerUri=…, GoldenImage=…, HostIdSearchDir=…, CaBundle=…), flags merged in.
  std::map<std::string, std::string> settings;
  int wait_seconds = 30;  // for a running vigild to report the result
  // One JSON document instead of text: {"server", "customer_id",
  // "golden_image", "vigild_running", "agent_id" (null until provisioned)}.
  bool as_json = false;
};

// Parses "Key=Value" words (key names case-insensitive); an unknown key or a
// word without '=' is an error naming it.
bool merge_key_values(const std::vector<std::string>& words, std::map<std::string, std::string>& settings,
                      std::string& error);

int run_provision(const Paths& paths, const ProvisionOptions& options);

}  // namespace vigil
