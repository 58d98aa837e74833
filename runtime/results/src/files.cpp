#include "pararun/files.hpp"
#include "pararun/errors.hpp"

#include <ctime>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>

namespace pararun {

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

namespace {

bool has_control_character(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

}  // namespace

std::string printable(const std::string& s, bool keep_newlines) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const auto next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
    char buf[16];
    if ((c < 0x20 && !(keep_newlines && c == '\n')) || c == 0x7f) {
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {  // a C1 control (U+0080..U+009F)
      std::snprintf(buf, sizeof buf, "\\u%04x", next);
      out += buf;
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string make_dirs(const std::string& path, std::vector<std::string>* created) {
  if (path.empty()) return "the folder name is empty";
  if (has_control_character(path))
    return "folder name '" + printable(path) + "' holds a control character";
  struct stat st {};
  std::vector<std::string> made;
  const auto fail = [&made](const std::string& why) {  // a refused path leaves no folder
    remove_empty_dirs(made);
    return why;
  };
  for (std::size_t pos = path.find('/', 1);; pos = path.find('/', pos + 1)) {
    const std::string prefix = path.substr(0, pos);
    if (!prefix.empty()) {
      if (mkdir(prefix.c_str(), 0777) == 0)
        made.push_back(prefix);
      else if (errno != EEXIST)
        return fail("cannot create the folder '" + prefix + "': " + std::strerror(errno));
      if (stat(prefix.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return fail("'" + prefix + "' exists and is not a folder");
    }
    if (pos == std::string::npos) break;
  }
  if (created) *created = std::move(made);
  return {};
}

void remove_empty_dirs(const std::vector<std::string>& created) {
  for (auto it = created.rbegin(); it != created.rend(); ++it) rmdir(it->c_str());
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

std::string own_link_target(const std::string& path) {
  std::string p = path;
  for (int hops = 0; hops < 40; ++hops) {  // Linux's own limit (ELOOP)
    struct stat st {};
    if (lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode) || st.st_uid != geteuid()) return p;
    char target[PATH_MAX];
    const ssize_t n = readlink(p.c_str(), target, sizeof target);
    if (n <= 0 || n == static_cast<ssize_t>(sizeof target)) return p;
    const std::string t(target, static_cast<std::size_t>(n));
    p = t[0] == '/' ? t : parent_dir(p) + "/" + t;
  }
  throw WriteError("cannot write '" + path + "': " + std::strerror(ELOOP));
}

std::string foreign_link_problem(const std::string& path, const std::string& file) {
  struct stat st {};
  if (lstat(file.c_str(), &st) != 0 || !S_ISLNK(st.st_mode) || st.st_uid == geteuid()) return {};
  return "'" + path + "' is a symbolic link of another user (uid " + std::to_string(st.st_uid) +
         "); it is not followed: name the file itself";
}

int open_own(const std::string& path, int flags, std::string* problem) {
  std::string file;
  try {
    file = own_link_target(path);
  } catch (const WriteError& e) {
    *problem = e.what();
    return -1;
  }
  // O_NONBLOCK: a FIFO without a reader fails at once instead of blocking the run.
  const int fd = ::open(file.c_str(), flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0666);
  if (fd < 0) {
    const int err = errno;
    *problem = foreign_link_problem(path, file);
    if (problem->empty()) *problem = "cannot open '" + path + "': " + std::strerror(err);
    return -1;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    *problem = "'" + path + "' is not a regular file";
    return -1;
  }
  return fd;
}

std::string output_file_problem(const std::string& path, const std::vector<std::string>& inputs) {
  if (path.empty()) return "the output path is empty";
  if (has_control_character(path))
    return "output path '" + printable(path) + "' holds a control character";
  if (path.back() == '/') return "output path '" + path + "' names a folder, not a file";
  // Where write_file_atomically writes: through this user's links, to the file they name.
  std::string file;
  try {
    file = own_link_target(path);
  } catch (const WriteError& e) {
    return e.what();
  }
  struct stat st {};
  // "-" is stdout to most tools, and /dev/stdout into a pipe is one (through the kernel's
  // /proc/self/fd link, which own_link_target cannot follow to a name): ParaRun writes files.
  if (path == "-" || (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)))
    return "output path '" + path + "' is " +
           (path == "-"            ? std::string("not stdout here")
            : S_ISFIFO(st.st_mode) ? std::string("a pipe")
            : S_ISCHR(st.st_mode)  ? std::string("a device")
                                   : std::string("not a regular file")) +
           ": ParaRun writes regular files (a run's record goes to stdout with --json)";
  const std::string dir = parent_dir(file);
  if (stat(dir.c_str(), &st) != 0) return "output folder '" + dir + "' does not exist";
  if (!S_ISDIR(st.st_mode)) return "'" + dir + "' is not a folder";
  if (access(dir.c_str(), W_OK | X_OK) != 0) return "output folder '" + dir + "' is not writable";
  const std::string base = file.substr(file.find_last_of('/') + 1);
  if (base.size() > 200)  // a temporary name beside it must still fit NAME_MAX (255)
    return "output file name '" + base + "' is longer than 200 characters";
  if (stat(file.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return "output path '" + path + "' is a folder, not a file";
    if (!S_ISREG(st.st_mode)) return "output path '" + path + "' is not a regular file";
    if (access(path.c_str(), W_OK) != 0) return "output file '" + path + "' is not writable";
  }
  for (const auto& in : inputs)
    if (same_file(file, in) || path == in || file == in)
      return "output file '" + path + "' is also an input ('" + in + "'): it would be destroyed";
  return {};
}

namespace {

/// The folders this process holds a FolderLock of, by real path, and how many times.
std::map<std::string, int>& held_folders() {
  static std::map<std::string, int> held;
  return held;
}

constexpr const char* kHostCharacters =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_";

/// A folder lock's holder line, "study 1234 node7" (a kind, a process number, a host name):
/// whether `text` (a file others may write) is one, and its parts.
bool read_holder(const std::string& text, std::string* kind, std::string* pid, std::string* host) {
  std::istringstream in(text);
  std::string rest;
  return in >> *kind >> *pid >> *host && !(in >> rest) && (*kind == "study" || *kind == "batch") &&
         pid->size() <= 10 && pid->find_first_not_of("0123456789") == std::string::npos &&
         host->size() <= 64 && host->find_first_not_of(kHostCharacters) == std::string::npos;
}

/// This host's name as a holder line can carry it (read_holder accepts what is written: a
/// line it refused would never be rewritten).
std::string holder_host() {
  char name[256] = "";
  gethostname(name, sizeof name - 1);
  std::string host = std::string(name).substr(0, 64);
  for (char& c : host)
    if (!std::strchr(kHostCharacters, c)) c = '_';
  return host.empty() ? "unknown" : host;
}

/// The first 512 bytes of `fd`.
std::string head_of(int fd) {
  char buf[512];
  const ssize_t n = pread(fd, buf, sizeof buf, 0);
  return std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
}

}  // namespace

FolderLock::FolderLock(const std::string& dir, const std::string& what) {
  char real[PATH_MAX];
  dir_ = realpath(dir.c_str(), real) ? real : dir;
  if (auto it = held_folders().find(dir_); it != held_folders().end()) {
    ++it->second;
    nested_ = true;
    return;
  }
  const std::string path = dir + "/lock";
  const auto unlocked = [this](const std::string& why) {  // the run goes on, as before there
    held_folders()[dir_] = 1;  // was a lock (warned once: a nested lock says nothing)
    std::fprintf(stderr,
                 "pararun: warning: %s: a second run of this folder at the same time would not "
                 "be refused\n",
                 why.c_str());
  };
  std::string problem;
  int rc = 0;
  // Locked and still the file at `path` (another run that was refused may have removed the
  // one this opened: remove_if_made): else opened again, made again.
  for (int tries = 0;; ++tries) {
    // Made here (O_EXCL), or there already (a user's, an earlier run's: never removed).
    // (Not made: a file a user's dangling link named lock led to, the link would be removed.)
    fd_ = open_own(path, O_RDWR | O_CREAT | O_EXCL, &problem);
    struct stat own {};
    made_ = fd_ >= 0 && lstat(path.c_str(), &own) == 0 && S_ISREG(own.st_mode);
    if (fd_ < 0) fd_ = open_own(path, O_RDWR | O_CREAT, &problem);
    if (fd_ < 0) {
      unlocked(problem);
      return;
    }
    while ((rc = flock(fd_, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
    }
    if (rc != 0 || is_file_at(fd_, path)) break;
    ::close(fd_);
    fd_ = -1;
    if (tries == 100) {  // (removed as soon as made, again and again)
      unlocked("'" + path + "' is removed again and again");
      return;
    }
  }
  if (rc == 0) {
    held_folders()[dir_] = 1;
    // Who holds it, for the message of a run it refuses: "study 1234 node7".
    const std::string holder = what + " " + std::to_string(getpid()) + " " + holder_host() + "\n";
    // Only into a lock file of its own (one name, empty or a holder line): never truncating a
    // file a hard link named lock shares with another, nor a user's own file named lock (or
    // one a link of theirs named lock points to). (The lock holds without it.)
    struct stat st {};
    std::string k, p, h;
    if (fstat(fd_, &st) == 0 && st.st_nlink == 1 &&
        (st.st_size == 0 || (st.st_size <= 512 && read_holder(head_of(fd_), &k, &p, &h))) &&
        ftruncate(fd_, 0) == 0 && pwrite(fd_, holder.data(), holder.size(), 0) < 0) {
    }
    return;
  }
  const int err = errno;
  const std::string text = err == EWOULDBLOCK ? head_of(fd_) : "";
  ::close(fd_);
  fd_ = -1;
  // Only EWOULDBLOCK says another process holds it; a file system without flock (Lustre
  // mounted without it: ENOSYS; NFS without its lock daemon: ENOLCK) says nothing of the kind.
  if (err != EWOULDBLOCK) {
    unlocked("cannot lock '" + path + "': " + std::strerror(err));
    return;
  }
  // The holder's own words ("batch 1234 node7") when it wrote them: a study holding the
  // folder a batch was asked to run in is named a study.
  std::string kind = what, pid, host;
  // (A file others may write: a number and a host name, or nothing of it is said.)
  if (std::string k; read_holder(text, &k, &pid, &host))
    kind = k;
  else
    host.clear();
  throw InputError("another pararun " + kind + " is running in '" + dir + "'" +
                   (host.empty() ? "" : " (process " + pid + " on " + host + ")") +
                   "; wait for it or stop it");
}

void FolderLock::remove_if_made() {
  const std::string path = dir_ + "/lock";
  if (!nested_ && made_ && fd_ >= 0 && is_file_at(fd_, path)) std::remove(path.c_str());
}

bool is_file_at(int fd, const std::string& path) {
  struct stat st {
  }, now{};
  const auto same = [&] { return now.st_dev == st.st_dev && now.st_ino == st.st_ino; };
  if (fstat(fd, &st) != 0 || stat(path.c_str(), &now) != 0 || !same()) return false;
  // The same by stat, and (an NFS client's cached answer) by a fresh open of the name: the
  // file was a regular one a moment ago (O_NONBLOCK: a FIFO put there since does not block).
  const int again = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (again < 0) return false;
  const bool still = fstat(again, &now) == 0 && same();
  ::close(again);
  return still;
}

void let_go_of_refused(std::optional<FolderLock>* lock, const std::string& manifest) {
  struct stat st {};
  if (!lock || !*lock || lstat(manifest.c_str(), &st) == 0) return;
  (*lock)->remove_if_made();
  lock->reset();
}

FolderLock::~FolderLock() {
  if (nested_) {
    --held_folders()[dir_];
    return;
  }
  held_folders().erase(dir_);
  if (fd_ >= 0) ::close(fd_);
}

bool write_own(const std::string& path, const std::string& text, int flags) {
  std::string problem;
  const int fd = open_own(path, O_WRONLY | O_CREAT | flags, &problem);
  if (fd < 0) return false;
  bool ok = true;
  for (std::size_t done = 0; done < text.size() && ok;) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n > 0)
      done += static_cast<std::size_t>(n);
    else
      ok = n < 0 && errno == EINTR;
  }
  return ::close(fd) == 0 && ok;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string file = own_link_target(path);
  struct stat st {};
  // Another user's link is replaced as a new file (its file's owner and mode are not taken).
  const bool link = lstat(file.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
  const bool existed = !link && stat(file.c_str(), &st) == 0;
  if (existed && !S_ISREG(st.st_mode))
    throw WriteError("'" + path + "' is not a regular file; not replacing it");
  // A new name each time: "FILE.tmp.PID" alone was left by a process killed -9, and a later
  // one of the same PID (a container starts its processes in the same order) could then
  // never write FILE (O_EXCL: EEXIST). PID, a counter and the clock; another on EEXIST.
  static std::atomic<unsigned> attempt{0};
  std::string tmp;
  int fd = -1;
  for (int tries = 0; fd < 0 && tries < 100; ++tries) {
    const auto ns = std::chrono::steady_clock::now().time_since_epoch().count();
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, ".tmp.%ld.%x%llx", static_cast<long>(getpid()),
                  attempt.fetch_add(1), static_cast<unsigned long long>(ns) & 0xffffffULL);
    tmp = file + suffix;
    // A new file gets the umask's mode, as every Unix tool's (a project's umask 002 makes it
    // group-writable); a replaced one keeps its mode, group and (where allowed) owner.
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) throw WriteError("cannot write '" + path + "': " + std::strerror(errno));
  int err = 0;
  if (existed) {
    // Not root: the owner becomes this user, as on any rewrite of theirs; the group is kept
    // when they are in it.
    if (fchown(fd, st.st_uid, st.st_gid) != 0) {
      [[maybe_unused]] const int group_only = fchown(fd, static_cast<uid_t>(-1), st.st_gid);
    }
    // The permission bits, not set-user/group-ID (a rewrite by root would keep them); a file
    // system without modes (vfat, some CIFS and FUSE mounts) keeps its own.
    [[maybe_unused]] const int mode_kept = fchmod(fd, st.st_mode & 0777);
  }
  for (std::size_t done = 0; done < text.size() && !err;) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n > 0)
      done += static_cast<std::size_t>(n);
    else if (n < 0 && errno == EINTR)
      continue;
    else
      err = n < 0 ? errno : ENOSPC;
  }
  if (!err && fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && !err) err = errno;
  if (!err && std::rename(tmp.c_str(), file.c_str()) != 0) err = errno;
  if (err) {
    ::unlink(tmp.c_str());
    throw WriteError("cannot write '" + path + "': " + std::strerror(err) +
                     " (the previous file, if any, is unchanged)");
  }
}

std::string default_output_folder(const std::string& kind) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::gmtime(&now));
  return "results/" + kind + "-" + stamp;
}

std::vector<std::string> make_output_folder(const std::string& dir,
                                            const std::vector<std::string>& files,
                                            const std::vector<std::string>& others) {
  struct stat st {};
  if (stat(dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))
    throw InputError("'" + dir + "' exists and is not a folder");
  // A new study or batch never writes over files it did not make (another command's results,
  // the user's own report.md), nor moves into a folder the other command keeps (a submitted
  // study has no results.jsonl until its report job: its points/ and slurm/ say it is there).
  std::string there;
  for (const auto* names : {&files, &others})
    for (const auto& name : *names)
      if (lstat((dir + "/" + name).c_str(), &st) == 0) there += (there.empty() ? "" : ", ") + name;
  if (!there.empty())
    throw InputError("'" + dir + "' already holds " + there +
                     " of another run; choose a new output folder");
  std::vector<std::string> created;
  if (const std::string why = make_dirs(dir, &created); !why.empty()) throw InputError(why);
  for (const auto& file : files)
    if (const std::string why = output_file_problem(dir + "/" + file); !why.empty()) {
      remove_empty_dirs(created);
      throw InputError(why);
    }
  return created;
}

namespace {

// The files and folders of an output folder that its runs replace or remove.
const std::set<std::string> kReplacedFiles = {
    "results.jsonl", "batch.json",  "checkpoint.json", "summary.json", "study.json",
    "report.md",     "speedup.csv", "analysis.json",   "lock",         "compare.json"};
const std::set<std::string> kReplacedFolders = {"jobs", "running", "points", "logs", "slurm"};

/// The name under `dir` (a folder's own file, or a path under its own folders) of the file
/// that is `in` (same device and inode), or "". Folders on another device than `in` are not
/// entered (the same inode there is another file); each folder is read once (a bind mount
/// can make a folder its own descendant). A folder that cannot be read is passed over.
std::string same_file_under(const std::string& dir, const struct stat& in) {
  struct stat st {};
  for (const auto& name : kReplacedFiles)
    if (lstat((dir + "/" + name).c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_dev == in.st_dev && st.st_ino == in.st_ino)
      return name;
  std::vector<std::string> todo;
  std::set<std::pair<dev_t, ino_t>> seen;
  for (const auto& name : kReplacedFolders)
    if (lstat((dir + "/" + name).c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
        st.st_dev == in.st_dev && seen.insert({st.st_dev, st.st_ino}).second)
      todo.push_back(name);
  while (!todo.empty()) {  // depth first, never through a symbolic link (lstat)
    const std::string rel = todo.back();
    todo.pop_back();
    const std::unique_ptr<DIR, int (*)(DIR*)> d(opendir((dir + "/" + rel).c_str()), closedir);
    if (!d) continue;
    while (const dirent* e = readdir(d.get())) {
      const std::string name = e->d_name;
      if (name == "." || name == ".." || lstat((dir + "/" + rel + "/" + name).c_str(), &st) != 0)
        continue;
      if (S_ISREG(st.st_mode) && st.st_dev == in.st_dev && st.st_ino == in.st_ino)
        return rel + "/" + name;
      if (S_ISDIR(st.st_mode) && st.st_dev == in.st_dev &&
          seen.insert({st.st_dev, st.st_ino}).second)
        todo.push_back(rel + "/" + name);
    }
  }
  return {};
}

}  // namespace

std::string run_folder_file_problem(const std::string& path, bool appends_records) {
  char real[PATH_MAX];
  // `rest`: the path below `folder`, from the output's own folder up to the root. An existing
  // file by its real path (a symbolic link to a folder's study.json is that file).
  std::string folder, rest;
  if (path.empty()) return {};
  std::string target;  // where a write goes: through this user's links, also to a new file
  try {
    target = own_link_target(path);
  } catch (const WriteError&) {
    return {};  // the write names the loop
  }
  if (realpath(target.c_str(), real)) {
    const std::string file = real;
    const auto slash = file.find_last_of('/');
    folder = slash == 0 ? "/" : file.substr(0, slash), rest = file.substr(slash + 1);
  } else if (realpath(parent_dir(target).c_str(), real)) {
    folder = real, rest = target.substr(target.find_last_of('/') + 1);
  } else {
    return {};
  }
  struct stat st {};
  while (true) {
    if (stat((folder + "/study.json").c_str(), &st) == 0 ||
        stat((folder + "/batch.json").c_str(), &st) == 0) {
      const auto slash = rest.find('/');
      const bool owned =
          slash == std::string::npos
              ? kReplacedFiles.count(rest) > 0 && !(appends_records && rest == "results.jsonl")
              : kReplacedFolders.count(rest.substr(0, slash)) > 0;
      if (owned)
        return "output file '" + path + "' is " + folder + "/" + rest +
               ", a file the study or batch in " + folder + " writes itself: name another file";
    }
    if (folder == "/") return {};
    const auto slash = folder.find_last_of('/');
    rest = folder.substr(slash + 1) + "/" + rest;
    folder = slash == 0 ? "/" : folder.substr(0, slash);
  }
}

std::string input_replaced_by_folder(const std::string& input, const std::string& dir) {
  char in[PATH_MAX], folder[PATH_MAX];
  if (dir.empty() || !realpath(input.c_str(), in) || !realpath(dir.c_str(), folder)) return {};
  const auto refusal = [&input](const std::string& own, const char* how) {
    return "'" + input + "' is the output folder's own " + own + how +
           ", which the run replaces or removes: keep the input elsewhere";
  };
  const std::string path = in, base = std::string(folder) + "/";
  if (path.rfind(base, 0) == 0) {
    const std::string rest = path.substr(base.size()), first = rest.substr(0, rest.find('/'));
    const bool kept = rest.find('/') == std::string::npos ? kReplacedFiles.count(rest) > 0
                                                          : kReplacedFolders.count(first) > 0;
    if (kept) return refusal(rest, "");
  }
  // Another path to one of those files (a bind mount of the folder, or of a folder above it,
  // elsewhere; or a second hard link, which the run would append to or unlink): the same
  // device and inode.
  struct stat st {};
  if (stat(in, &st) != 0 || !S_ISREG(st.st_mode)) return {};
  if (const std::string own = same_file_under(folder, st); !own.empty())
    return refusal(own, " (by another path)");
  return {};
}

}  // namespace pararun
