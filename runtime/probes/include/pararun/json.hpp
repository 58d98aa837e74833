// JSON for the layers above the core (probes, results, orchestration): nlohmann's.
#pragma once

#include <nlohmann/json.hpp>

namespace pararun {

using Json = nlohmann::json;

}  // namespace pararun
