// Files the tools write: folders made without a shell, outputs that are checked before
// anything runs (never a device, a FIFO or one of the inputs) and written whole or not at all.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pararun {

/// A write that failed (disk full, I/O error): the old file, if any, is kept. Exit code 3.
class WriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The folder of `path`: "." for a bare name, "/" for a name right under the root.
std::string parent_dir(const std::string& path);

/// Creates `path` and its missing parents with mkdir(2) (no shell). Empty when it exists or
/// was created, else the problem in one line; then the folders it made are gone again. The
/// folders it made, parents first, go to `created` when given.
std::string make_dirs(const std::string& path, std::vector<std::string>* created = nullptr);
/// Removes the folders `created` (as make_dirs gave them) that are empty, deepest first.
void remove_empty_dirs(const std::vector<std::string>& created);

/// "results/KIND-YYYYMMDD-HHMMSS" (UTC): where a study or batch goes without --out.
std::string default_output_folder(const std::string& kind);

/// Makes the output folder `dir` (with its parents, no shell) for a new study or batch, which
/// writes the files named in `files`: InputError (errors.hpp) when `dir` exists and is not a
/// folder, cannot be made, already holds one of the files (the user's own, or another run's:
/// they are never replaced) or one of `others` (what the other command keeps there: a study
/// and a batch never share a folder), or a file could not be written there
/// (output_file_problem); then no folder it made is left. Returns the folders it made
/// (make_dirs).
std::vector<std::string> make_output_folder(const std::string& dir,
                                            const std::vector<std::string>& files,
                                            const std::vector<std::string>& others = {});

/// `s` with control characters shown as \xNN (C1 controls, U+0080..U+009F, as \u00NN): a
/// message naming it stays one line, and a string from a file cannot drive the terminal.
/// `keep_newlines`: a table of several lines keeps them.
std::string printable(const std::string& s, bool keep_newlines = false);

/// True when `a` and `b` name the same existing file (same device and inode).
bool same_file(const std::string& a, const std::string& b);

/// Why `path` cannot be an output file (empty: it can): empty path, a folder, a missing or
/// unwritable folder, an existing target that is not a regular file (a device, a FIFO, a
/// socket) or not writable, a control character in the name, or one of `inputs` (writing it
/// would destroy what is read). Touches nothing.
std::string output_file_problem(const std::string& path,
                                const std::vector<std::string>& inputs = {});

/// Why `path` cannot be an output file of a command other than the study or batch itself (empty:
/// it can): it is one of the files a study or batch folder's runs write and read back
/// (study.json, batch.json, checkpoint.json, report.md, ...; anything under its jobs/, points/,
/// logs/, slurm/), in a folder holding study.json or batch.json, at any depth above it
/// (`pararun report B --csv B/batch.json` replaced the batch's manifest with CSV). With
/// `appends_records` (`pararun run -o`), the folder's results.jsonl may take more records.
std::string run_folder_file_problem(const std::string& path, bool appends_records = false);

/// One run of a study or batch folder at a time: an exclusive lock (flock) on `dir`/lock, held
/// while this lives (and released by the kernel if the process dies). Two runs of one folder
/// would run its points twice, on the same cores at once (timings disturbed), and share its
/// files. Within one process it nests: a second FolderLock of a folder the process holds
/// already takes nothing and refuses nothing (a command locks before it changes the folder's
/// files, then runs the batch, which locks too).
class FolderLock {
 public:
  /// Takes the lock and writes "WHAT PID HOST" into the lock file, or throws InputError
  /// (errors.hpp) when another process holds it, naming what that one wrote (else `what`:
  /// "study", "batch"). Where the lock file cannot be made or the file system has no flock,
  /// warns on stderr and holds nothing (the run goes on).
  FolderLock(const std::string& dir, const std::string& what);
  ~FolderLock();
  /// For a run refused before the folder became a study's or batch's: removes the lock file
  /// when this lock made it (a `lock` the folder held before stays), while still holding it.
  /// A lock is taken only on the file still at `dir`/lock, so a process that opened the
  /// removed one makes and locks a new one.
  void remove_if_made();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
  bool nested_ = false;  ///< this process held the folder already
  bool made_ = false;    ///< the lock file did not exist before this lock
  std::string dir_;      ///< as realpath gives it: the key of the process's held folders
};

/// Whether the open file `fd` is the file at `path` now (through its links): a lock taken on a
/// file another process removed or replaced meanwhile locks nothing. Confirmed by opening
/// `path` again: an NFS client revalidates a name when it opens it, not for a stat, which
/// may answer from its cache for up to a minute.
bool is_file_at(int fd, const std::string& path);

/// A run refused before the folder became its own (`manifest`, its study.json or batch.json,
/// not there): the lock file `lock` made is removed (remove_if_made), `lock` let go. A user's
/// folder a refused run was pointed at is left as it was.
void let_go_of_refused(std::optional<FolderLock>* lock, const std::string& manifest);

/// The file that writing `path` reaches: `path` itself, or where its symbolic links lead (also
/// when the last link's file does not exist yet). Only this user's links (root's, for root)
/// are followed: another user's link in a folder both can write is never followed to a file
/// it names (~/.ssh/authorized_keys, /etc/cron.d/x), not even in that user's own folder (root
/// would write over what a user's link names; under sudo, name the file itself). WriteError
/// for a loop of links.
std::string own_link_target(const std::string& path);

/// When `file` (own_link_target(path)) is a link that is not followed: one line naming `path`,
/// the link's owner and what to do; else "".
std::string foreign_link_problem(const std::string& path, const std::string& file);

/// Opens the regular file `path` with `flags` (O_CLOEXEC, O_NOFOLLOW and O_NONBLOCK added:
/// a FIFO fails at once; mode 0666 and the umask when O_CREAT makes it) through the links
/// own_link_target follows, never through another's. -1 and `problem` (one line) when it
/// cannot, or when it is not a regular file.
int open_own(const std::string& path, int flags, std::string* problem);

/// Writes `text` to `path` opened by open_own with O_WRONLY, O_CREAT and `flags` (O_APPEND
/// for a log, O_TRUNC for a marker): not atomic, for files a crash may leave short. False
/// when it could not (open, write or close).
bool write_own(const std::string& path, const std::string& text, int flags);

/// Writes `text` to `path` through a temporary file in the same folder, checks every write,
/// the flush to disk and the close, then renames it over `path`. On any failure the temporary
/// file is removed, `path` is left as it was, and WriteError names the file and the reason.
/// Refuses (WriteError) a target that exists and is not a regular file. A new file's mode is
/// the umask's; a replaced file keeps its permission bits, group and (root) owner. A symbolic
/// link of this user (of root, for root) stays: the file it names is replaced (or made);
/// another user's link is replaced itself, never followed (fs.protected_symlinks' rule).
void write_file_atomically(const std::string& path, const std::string& text);

/// A reason the file `input` (a study file, a batch manifest) cannot be read for a study or
/// batch whose output folder is `dir`: it is one of the files that folder's runs replace or
/// remove (results.jsonl, checkpoint.json, study.json, ..., anything under jobs/ or points/),
/// by its own path or by another (a bind mount or a hard link: the same device and inode).
/// Empty when it is not (a manifest kept beside them under another name is fine).
std::string input_replaced_by_folder(const std::string& input, const std::string& dir);

}  // namespace pararun
