#include "concurrency.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include <cstdio>

#include "pararun/sysinfo.hpp"

namespace pararun::concurrency {

namespace {

double wait_of(const Config& c, int task) {
  return task < static_cast<int>(c.wait_per_task.size()) ? c.wait_per_task[task] : c.wait_seconds;
}

std::uint64_t steps_of(Workload w, const Config& c) {
  return w == Workload::compute ? c.compute_steps : c.wait_steps;
}

void fail_if_asked(const Config& c, int task) {
  if (task == c.failing_task)
    throw std::runtime_error("task " + std::to_string(task) + " failed (injected)");
}

/// The blocking body of one task, as sequential and threaded modes run it.
TaskResult blocking_task(Workload w, const Config& c, int task) {
  TaskResult r;
  r.task = task;
  r.cpus = thread_affinity();
  try {
    if (w == Workload::wait)
      std::this_thread::sleep_for(std::chrono::duration<double>(wait_of(c, task)));
    fail_if_asked(c, task);
    r.value = advance(task, steps_of(w, c));
    r.ok = true;
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  return r;
}

/// One clear error for a system call that failed; running out of file descriptors (a task
/// holds one) says what to do about it.
[[noreturn]] void fail_call(const char* what) {
  const int err = errno;
  throw std::runtime_error(std::string(what) + " failed: " + std::strerror(err) +
                           (err == EMFILE || err == ENFILE
                                ? " (each task needs a file descriptor: fewer --tasks, or a "
                                  "higher ulimit -n)"
                                : ""));
}

int checked_fd(int fd, const char* what) {
  if (fd < 0) fail_call(what);
  return fd;
}

void watch(int ep, int fd, int task) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<std::uint64_t>(task);
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) fail_call("epoll_ctl");
}

std::vector<TaskResult> run_threads(Workload w, const Config& c, bool one_core) {
  std::vector<TaskResult> results(static_cast<std::size_t>(c.tasks));
  // one core: the first CPU this thread may use. All cores: every usable CPU, explicitly,
  // because OMP_PROC_BIND pins the initial thread at start-up and new threads inherit that.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (one_core) {
    cpu_set_t mine;
    CPU_ZERO(&mine);
    sched_getaffinity(0, sizeof mine, &mine);
    for (int i = 0; i < CPU_SETSIZE; ++i)
      if (CPU_ISSET(i, &mine)) {
        CPU_SET(i, &set);
        break;
      }
  } else {
    for (int c : usable_cpus())
      if (c < CPU_SETSIZE) CPU_SET(c, &set);
  }
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(c.tasks));
  try {
    for (int t = 0; t < c.tasks; ++t)
      threads.emplace_back([&, t] {
        // Where the set is not allowed (a narrower cpuset), the thread keeps what it inherited.
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
        results[static_cast<std::size_t>(t)] = blocking_task(w, c, t);
      });
  } catch (const std::exception& e) {  // out of threads or memory: the started ones finish
    for (auto& th : threads) th.join();
    throw std::runtime_error("cannot start thread " + std::to_string(threads.size() + 1) + " of " +
                             std::to_string(c.tasks) + ": " + e.what());
  }
  for (auto& th : threads) th.join();
  return results;
}

/// The event loop: every task is a state machine driven by readiness on its own fd. Wait
/// tasks first wait on a timerfd; then (and compute tasks from the start) they compute in
/// slices, re-arming an eventfd after each slice so that all tasks take turns.
std::vector<TaskResult> run_event_loop(Workload w, const Config& c) {
  struct State {
    int fd = -1;
    bool waiting = false;
    std::uint64_t left = 0;
    double x = 0;
  };
  const int ep = checked_fd(epoll_create1(EPOLL_CLOEXEC), "epoll_create1");
  std::vector<State> st(static_cast<std::size_t>(c.tasks));
  // On a failure every descriptor is closed before the error goes up.
  struct Closer {
    int ep;
    std::vector<State>& st;
    ~Closer() {
      for (State& s : st)
        if (s.fd >= 0) close(s.fd);
      close(ep);
    }
  } closer{ep, st};
  std::vector<TaskResult> results(static_cast<std::size_t>(c.tasks));
  int pending = c.tasks;

  auto arm_compute = [&](int t) {  // make the task ready to compute its next slice
    State& s = st[static_cast<std::size_t>(t)];
    if (s.waiting) {
      epoll_ctl(ep, EPOLL_CTL_DEL, s.fd, nullptr);
      close(s.fd);
      s.fd = -1;
      s.fd = checked_fd(eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd");
      s.waiting = false;
      watch(ep, s.fd, t);
    }
  };
  auto finish = [&](int t) {
    State& s = st[static_cast<std::size_t>(t)];
    epoll_ctl(ep, EPOLL_CTL_DEL, s.fd, nullptr);
    close(s.fd);
    s.fd = -1;
    --pending;
  };

  for (int t = 0; t < c.tasks; ++t) {
    State& s = st[static_cast<std::size_t>(t)];
    results[static_cast<std::size_t>(t)].task = t;
    results[static_cast<std::size_t>(t)].cpus = thread_affinity();
    s.left = steps_of(w, c);
    s.x = t;
    if (w == Workload::wait) {
      s.fd =
          checked_fd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC), "timerfd_create");
      const double wait = std::max(wait_of(c, t), 1e-9);  // a zero it_value would disarm
      itimerspec spec{};
      spec.it_value.tv_sec = static_cast<time_t>(wait);
      spec.it_value.tv_nsec = static_cast<long>((wait - std::floor(wait)) * 1e9);
      if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
      if (timerfd_settime(s.fd, 0, &spec, nullptr) != 0) fail_call("timerfd_settime");
      s.waiting = true;
    } else {
      s.fd = checked_fd(eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd");
    }
    watch(ep, s.fd, t);
  }

  epoll_event events[64];
  while (pending > 0) {
    const int n = epoll_wait(ep, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int e = 0; e < n; ++e) {
      const int t = static_cast<int>(events[e].data.u64);
      State& s = st[static_cast<std::size_t>(t)];
      if (s.fd < 0) continue;
      std::uint64_t count = 0;
      if (read(s.fd, &count, sizeof count) < 0) continue;  // spurious: not ready after all
      TaskResult& r = results[static_cast<std::size_t>(t)];
      // A task fails where its work starts (after the wait, or at its first slice); the
      // failure is recorded and the loop goes on with the others.
      const bool starting = s.waiting || (w == Workload::compute && s.left == steps_of(w, c));
      if (starting) {
        try {
          fail_if_asked(c, t);
        } catch (const std::exception& ex) {
          r.error = ex.what();
          finish(t);
          continue;
        }
      }
      if (s.waiting) {  // the simulated I/O completed: compute from the next turn on
        arm_compute(t);
        continue;
      }
      const std::uint64_t slice = std::min(kSlice, s.left);
      s.x = advance(s.x, slice);
      s.left -= slice;
      if (s.left == 0) {
        r.value = s.x;
        r.ok = true;
        finish(t);
      } else {
        const std::uint64_t one = 1;
        if (write(s.fd, &one, sizeof one) < 0) {  // ready again: take another turn later
          r.error = "eventfd write failed";
          finish(t);
        }
      }
    }
  }
  return results;  // (closer: the descriptors)
}

}  // namespace

std::string to_string(Workload w) {
  return w == Workload::compute ? "compute" : "wait";
}

std::string to_string(Mode m) {
  switch (m) {
    case Mode::sequential:
      return "sequential";
    case Mode::event_loop:
      return "event-loop";
    case Mode::threads_one_core:
      return "threads-one-core";
    case Mode::threads_all_cores:
      return "threads-all-cores";
  }
  return "?";
}

Reading interpret(Workload w, Mode m, int tasks, int cpus, double speedup) {
  const bool compute = w == Workload::compute;
  const int parallel = std::max(1, std::min(tasks, cpus));
  Reading r;
  std::string what;
  switch (m) {
    case Mode::sequential:
      r.text = "baseline: one task after another, blocking";
      return r;
    case Mode::event_loop:
      r.expected = compute ? 1 : tasks;
      what = compute ? "one thread taking turns: concurrency without parallelism"
                     : "one thread overlapping the waits: concurrency alone hides latency";
      break;
    case Mode::threads_one_core:
      r.expected = compute ? 1 : tasks;
      what = compute ? "threads sharing 1 CPU, interleaved by the OS"
                     : "threads on 1 CPU overlapping their waits: concurrency, no parallelism";
      break;
    case Mode::threads_all_cores:
      r.expected = compute ? parallel : tasks;
      what = compute ? "threads on " + std::to_string(cpus) + " CPUs: parallelism"
                     : "threads on all CPUs overlapping their waits";
      break;
  }
  const double low = 0.6 * r.expected,
               high = compute && m == Mode::threads_all_cores ? 1.1 * r.expected : 1.5 * r.expected;
  r.as_expected = speedup >= low && speedup <= high;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.2fx of ~%.0fx expected", speedup, r.expected);
  r.text = what + ", " + buf;
  if (!r.as_expected)
    r.text += speedup < low ? ": LESS than the model predicts" : ": MORE than the model predicts";
  return r;
}

double advance(double x, std::uint64_t steps) {
  for (std::uint64_t i = 0; i < steps; ++i) x = x * 1.0000001 + 1e-7;  // x+1 grows, no fixed point
  return x;
}

double task_value(int task, std::uint64_t steps) {
  // The event loop computes in slices; advance() is a pure chain, so slicing is exact.
  return advance(task, steps);
}

ModeResult run(Workload w, Mode m, const Config& c) {
  ModeResult out;
  const auto t0 = std::chrono::steady_clock::now();
  switch (m) {
    case Mode::sequential:
      for (int t = 0; t < c.tasks; ++t) out.tasks.push_back(blocking_task(w, c, t));
      break;
    case Mode::event_loop:
      out.tasks = run_event_loop(w, c);
      break;
    case Mode::threads_one_core:
      out.tasks = run_threads(w, c, true);
      break;
    case Mode::threads_all_cores:
      out.tasks = run_threads(w, c, false);
      break;
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace pararun::concurrency
