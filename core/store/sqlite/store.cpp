// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/sqlite/store.hpp"

#include "core/log.hpp"
#include "core/store/sqlite/checkpointer.hpp"
#include "core/store/sqlite/compactor.hpp"
#include "core/store/sqlite/recent_writer.hpp"
#include "core/store/sqlite/schema.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#endif

namespace fleetscope::store::sqlite {

namespace fs = std::filesystem;

namespace {

// The compactor writes many pages of `samples` per round; a cache that holds them spares re-reading them.
constexpr int kMainCacheKiB = 32 * 1024;
constexpr int kWalLimitBytes = 32 * 1024 * 1024;

void set_pragma(sqlite3* db, const std::string& pragma, const std::string& path)
{
    exec_or_throw(db, pragma.c_str(), "cannot set " + pragma, path);
}

std::string random_id()
{
    std::random_device rd;
    char id[33];
    std::snprintf(id, sizeof id, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
    return id;
}

/// The writing process's claim on a store: an exclusive flock on `<main>-lock`. A second writer would give
/// the same ids to other devices. A file of its own, because closing any other descriptor of SQLite's files
/// would drop the POSIX locks SQLite holds on them in this process.
class WriterLock {
public:
    explicit WriterLock(const std::string& main_path)
    {
#if !defined(_WIN32)
        const std::string path = main_path + "-lock";
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0)
            throw StoreError("cannot create " + path + ": " + std::strerror(errno));
        if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            const int err = errno;
            ::close(fd_);
            fd_ = -1;
            if (err == EWOULDBLOCK)
                throw StoreError("database " + main_path +
                                 " is open for writing in another process (it holds " + path +
                                 "); one gateway writes a database at a time");
            throw StoreError("cannot lock " + path + ": " + std::strerror(err));
        }
#else
        (void)main_path;
#endif
    }
    ~WriterLock()
    {
#if !defined(_WIN32)
        if (fd_ >= 0)
            ::close(fd_);
#endif
    }
    WriterLock(const WriterLock&) = delete;
    WriterLock& operator=(const WriterLock&) = delete;

private:
    int fd_ = -1;
};

/// The store: writer, compactor, checkpointer and reader over one pair of files. The Writer methods are
/// thread-safe (they hand over to the threads that own the connections); stop() from the owner.
class SqliteStore final : public Store, public Writer {
public:
    SqliteStore(const Options& options, std::string path);
    ~SqliteStore() override { stop(); }

    Writer& writer() override { return *this; }
    const Reader& reader() const override { return *reader_; }
    const std::string& location() const override { return path_; }
    std::int64_t disk_bytes() const override;
    bool run_retention_now() override { return compactor_->run_retention_now(writer_->committed_through()); }

    bool submit(std::vector<telemetry::Sample>&& samples, CommitCallback done) override
    {
        return writer_->submit(std::move(samples), std::move(done));
    }
    void set_observer(CommitObserver observer) override { writer_->set_observer(std::move(observer)); }
    std::int64_t session_id() const override { return session_; }
    bool add_timeline(std::vector<TimelineRow> points) override;
    bool add_alert_changes(std::vector<AlertChange> changes) override;
    StoreStats stats() const override { return writer_->stats(); }
    void stop() override;

protected:
    bool queue_mark(MarkRow mark) override;

private:
    std::string path_;
    WriterLock lock_;
    std::int64_t session_ = 0;
    std::unique_ptr<Compactor> compactor_;
    std::unique_ptr<RecentWriter> writer_;
    std::unique_ptr<Checkpointer> checkpointer_;
    std::unique_ptr<SqliteReader> reader_;
    std::mutex stop_mutex_;
    bool stopped_ = false;
};

std::string checked_path(const std::string& path)
{
    if (path.empty())
        throw StoreError("database path is empty (expected a file path)");
    const fs::path parent = fs::path(path).parent_path();
    if (!parent.empty()) {
        std::error_code ec;
        fs::create_directories(parent, ec);
        if (ec)
            throw StoreError("cannot create the database folder " + parent.string() + ": " + ec.message());
    }
    return path;
}

SqliteStore::SqliteStore(const Options& options, std::string path)
    : path_(checked_path(path))
    , lock_(path_)
{
    Db main = open(file_uri(path_, ""), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
                   options.busy_timeout);
    sqlite3* h = main.get();
    // Checked first: a file that is not a database fails here with SQLite's "file is not a database".
    if (query_int(h, "PRAGMA user_version", path_) == 0)
        set_pragma(h, "PRAGMA page_size = 4096", path_); // effective only before the first table exists
    {
        Stmt wal = prepare(h, "PRAGMA journal_mode = WAL", path_);
        if (wal.step() != SQLITE_ROW || wal.text(0) != "wal")
            throw StoreError(describe(h, "cannot switch the database to WAL journal mode", path_));
    }
    // The compactor's commits must be on disk before the writer removes what they moved (compactor.cpp).
    set_pragma(h, "PRAGMA synchronous = FULL", path_);
    set_pragma(h, "PRAGMA temp_store = MEMORY", path_);
    set_pragma(h, "PRAGMA cache_size = -" + std::to_string(kMainCacheKiB), path_);
    set_pragma(h, "PRAGMA wal_autocheckpoint = 0", path_); // the checkpointer thread does it
    set_pragma(h, "PRAGMA journal_size_limit = " + std::to_string(kWalLimitBytes), path_);
    migrate(h, path_);
    if (options.max_bytes != 0) {
        // The main file's share of the quota: the writer checks both files before each batch
        // (RecentWriter::check_quota); this keeps the main file itself within it. SQLite never sets it below
        // the pages in use, so an existing larger file stays readable and its free pages are still reused.
        const auto page = query_int(h, "PRAGMA page_size", path_);
        const auto pages = std::max<std::uint64_t>(1, options.max_bytes / static_cast<std::uint64_t>(page));
        set_pragma(h, "PRAGMA max_page_count = " + std::to_string(pages), path_);
    }

    std::string store_id;
    {
        Stmt st = prepare(h, "SELECT value FROM meta WHERE key = 'store_id'", path_);
        if (st.step() == SQLITE_ROW) {
            store_id = std::string(st.text(0));
        } else {
            st = Stmt();
            store_id = random_id();
            Stmt set = prepare(h, "INSERT INTO meta(key, value) VALUES ('store_id', ?1)", path_);
            set.bind(1, store_id);
            step_done(set, h, "cannot record the store id", path_);
        }
    }
    const std::int64_t moved_through = query_int(h, "SELECT moved_through FROM compaction", path_);

    writer_ = std::make_unique<RecentWriter>(options, path_, h, moved_through, store_id,
                                             [this](std::int64_t through) { compactor_->request(through); });
    {
        // Read-only: a write transaction of the compactor (BEGIN IMMEDIATE) then takes no lock on the recent
        // file, where the writer commits.
        Stmt attach = prepare(h, "ATTACH DATABASE ?1 AS recent_file", path_);
        const std::string uri = file_uri(recent_path(path_), "ro");
        attach.bind(1, uri);
        if (attach.step() != SQLITE_DONE)
            throw StoreError(describe(h, "cannot attach the recent file to", path_));
    }
    if (!options.app_version.empty()) {
        // Telemetry matters more than the session record: a database that is full or locked right now still
        // opens, and the run goes unrecorded (session 0) with a line saying why.
        try {
            exec_or_throw(h, "BEGIN IMMEDIATE", "cannot start recording the session", path_);
            Records records(h, path_);
            session_ = records.begin_session(options.app_version, options.settings_json);
            exec_or_throw(h, "COMMIT", "cannot commit the session record", path_);
        } catch (const StoreError& e) {
            if (sqlite3_get_autocommit(h) == 0)
                exec(h, "ROLLBACK");
            session_ = 0;
            log::warning(std::string("this run is not recorded as a session: ") + e.what());
        }
    }
    compactor_ =
        std::make_unique<Compactor>(std::move(main), path_, moved_through, session_, options.retention_slice);
    compactor_->set_retention(options.retention_days);
    compactor_->on_moved(
        [w = writer_.get()](std::int64_t through, std::size_t series) { w->moved(through, series); });
    reader_ = std::make_unique<SqliteReader>(path_, true, path_, std::string(), kSchemaVersion,
                                             options.busy_timeout);
    checkpointer_ = std::make_unique<Checkpointer>(std::vector<std::string>{path_, recent_path(path_)},
                                                   options.busy_timeout);
    checkpointer_->start();
    compactor_->start();
    writer_->start();
}

std::int64_t SqliteStore::disk_bytes() const
{
    // Both files and their WALs; the -shm indexes are left out: memory maps, not data.
    std::error_code ec;
    const auto main = fs::file_size(path_, ec);
    if (ec)
        return -1;
    std::uintmax_t total = main;
    for (const std::string& file : {path_ + "-wal", recent_path(path_), recent_path(path_) + "-wal"}) {
        const auto bytes = fs::file_size(file, ec);
        total += ec ? 0 : bytes;
    }
    return static_cast<std::int64_t>(total);
}

bool SqliteStore::add_timeline(std::vector<TimelineRow> points)
{
    if (session_ == 0)
        return false;
    return compactor_->post([session = session_, points = std::move(points)](Records& r) {
        return r.add_timeline(session, points);
    });
}

bool SqliteStore::add_alert_changes(std::vector<AlertChange> changes)
{
    return compactor_->post(
        [session = session_, changes = std::move(changes)](Records& r) { return r.apply(session, changes); });
}

bool SqliteStore::queue_mark(MarkRow mark)
{
    mark.session_id = session_;
    return compactor_->post([mark = std::move(mark)](Records& r) { return r.add_mark(mark); });
}

void SqliteStore::stop()
{
    std::lock_guard lock(stop_mutex_);
    if (stopped_)
        return;
    stopped_ = true;
    // The writer first: its last commits (and the alert changes their callbacks raise) reach the compactor,
    // which then moves everything, records the session's end and stops; then the removal of what it moved,
    // and a last checkpoint that empties both WALs.
    const std::int64_t last = writer_->stop();
    compactor_->stop(last);
    writer_->remove_moved();
    checkpointer_->stop();
}

} // namespace

std::unique_ptr<Store> open_store(const Options& options, const std::string& path)
{
    return std::make_unique<SqliteStore>(options, path);
}

namespace {

/// Copies the database `from` (whatever its journal mode) into a new file `to` with SQLite's backup API.
void backup_to(sqlite3* from, const std::string& from_path, const std::string& to)
{
    Db dst = open(to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, Millis{5'000});
    sqlite3_backup* b = sqlite3_backup_init(dst.get(), "main", from, "main");
    if (!b)
        throw StoreError(describe(dst.get(), "cannot copy " + from_path + " to", to));
    const int rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE)
        throw StoreError(describe(dst.get(), "cannot copy " + from_path + " to", to));
}

std::string temp_copy_path()
{
    std::random_device rd;
    char name[48];
    std::snprintf(name, sizeof name, "fleetscope-capture-%08x%08x.db", rd(), rd());
    return (fs::temp_directory_path() / name).string();
}

void remove_quietly(const std::string& path)
{
    std::error_code ec;
    fs::remove(path, ec);
    fs::remove(path + "-journal", ec);
}

} // namespace

std::unique_ptr<SqliteReader> open_file(const std::string& path)
{
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw StoreError("cannot open " + path + ": no such file");
    // Read-only: opening never creates, migrates or checkpoints the user's file.
    Db db = open(path, SQLITE_OPEN_READONLY, Millis{5'000});
    const auto version = static_cast<int>(query_int(db.get(), "PRAGMA user_version", path));
    check_readable_version(version, "database", path);
    // Readings live in `chunks` since version 3, in `samples` before.
    if (version < 1 || !has_table(db.get(), "main", version >= 3 ? "chunks" : "samples", path))
        throw StoreError(path + " is not a FleetScope database (schema version " + std::to_string(version) +
                         ", no telemetry tables)");
    if (version == kSchemaVersion) {
        db = Db();
        return std::make_unique<SqliteReader>(path, fs::exists(recent_path(path), ec), path, std::string(),
                                              version);
    }
    const std::string copy = temp_copy_path();
    try {
        backup_to(db.get(), path, copy);
        db = Db();
        {
            Db migrated = open(copy, SQLITE_OPEN_READWRITE, Millis{5'000});
            exec_or_throw(migrated.get(), "PRAGMA journal_mode = DELETE", "cannot prepare the copy", copy);
            migrate(migrated.get(), copy);
        }
        return std::make_unique<SqliteReader>(copy, false, path, copy, version);
    } catch (const StoreError& e) {
        remove_quietly(copy);
        throw StoreError("cannot open " + path + " of schema version " + std::to_string(version) + ": " +
                         e.what());
    }
}

} // namespace fleetscope::store::sqlite
