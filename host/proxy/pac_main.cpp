// vigil-pac SCRIPT URL HOST MY_IP: prints what the PAC script's
// FindProxyForURL(URL, HOST) returns. The agent runs this helper so that an
// untrusted script cannot hang, crash or bloat vigild; the limits below back
// up the deadline the agent enforces by killing it.
#include <sys/resource.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "proxy/pac.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: vigil-pac SCRIPT URL HOST MY_IP\n";
    return 2;
  }
  // Sanitizers reserve terabytes of address space: there the deadline and the CPU limit have to do.
  if (!vigil::proxy::kSanitizedBuild) {
    rlimit memory{vigil::proxy::kPacMemoryLimit, vigil::proxy::kPacMemoryLimit};
    ::setrlimit(RLIMIT_AS, &memory);
  }
  rlimit cpu{10, 10};
  ::setrlimit(RLIMIT_CPU, &cpu);

  std::ifstream file(argv[1], std::ios::binary);
  std::ostringstream script;
  script << file.rdbuf();
  if (!file) {
    std::cerr << "cannot read the PAC script " << argv[1] << "\n";
    return 1;
  }
  vigil::proxy::PacContext context;
  context.my_ip = argv[4];
  auto result = vigil::proxy::find_proxy_for_url(script.str(), argv[2], argv[3], context);
  if (!result.ok()) {
    std::cerr << result.error() << "\n";
    return 1;
  }
  std::cout << result.value() << "\n";
  return 0;
}
