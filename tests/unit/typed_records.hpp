// Records written as JSON in a test, read as the readers read them (read_record).
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "pararun/record.hpp"

namespace pararun::test {

inline std::vector<Record> typed(const std::vector<Json>& records) {
  std::vector<Record> out;
  for (const auto& j : records) {
    std::string why;
    auto r = read_record(j, &why);
    EXPECT_TRUE(r.has_value()) << why << ": " << j.dump();
    if (r) out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace pararun::test
