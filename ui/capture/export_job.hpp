// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/store/capture.hpp"

#include <QFutureWatcher>
#include <QObject>
#include <QString>
#include <QTimer>

#include <atomic>
#include <cstdint>
#include <memory>

namespace fleetscope::ui {

/// What an export writes: the selection of one database, in one format, to one file.
struct ExportRequest {
    QString db_path;
    store::ExportQuery query;
    store::ExportFormat format = store::ExportFormat::capture;
    QString out_path;
};

/// One store::export_data run on a pool thread (QtConcurrent), so the GUI thread never waits on SQLite and a
/// gateway in the same process keeps ingesting. Owned by the GUI thread; the export thread reaches it only
/// through the shared atomics (progress out, cancel in), and the result comes back through a QFutureWatcher.
class ExportJob : public QObject {
    Q_OBJECT
public:
    explicit ExportJob(QObject* parent = nullptr);
    ~ExportJob() override; // cancels a running export and waits for it to clean up

    /// Starts the export; false when one is already running.
    bool start(const ExportRequest& request);
    /// Asks the export to stop at its next progress report; it then removes what it wrote.
    void cancel();
    bool running() const { return watcher_.isRunning(); }

    std::uint64_t done() const { return progress_->done.load(std::memory_order_relaxed); }
    std::uint64_t total() const { return progress_->total.load(std::memory_order_relaxed); }
    /// Valid after finished().
    const store::ExportResult& result() const { return result_; }
    const ExportRequest& request() const { return request_; }

signals:
    /// About ten times a second while it runs (readings written, of about `total`).
    void progressed(quint64 done, quint64 total);
    void finished();

private:
    struct Progress {
        std::atomic<std::uint64_t> done{0};
        std::atomic<std::uint64_t> total{0};
        std::atomic<bool> cancel{false};
    };

    ExportRequest request_;
    std::shared_ptr<Progress> progress_;
    QFutureWatcher<store::ExportResult> watcher_;
    QTimer poll_;
    store::ExportResult result_;
};

} // namespace fleetscope::ui
