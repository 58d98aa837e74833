// An environment variable set for the life of the object, then put back as it was.
#pragma once

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

namespace pararun::test {

class ScopedEnv {
 public:
  /// Sets `name` to `value` ("": unsets it).
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (!value.empty())
      setenv(name, value.c_str(), 1);
    else
      unsetenv(name);
    tzset();  // TZ is read once otherwise
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
    tzset();
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace pararun::test
