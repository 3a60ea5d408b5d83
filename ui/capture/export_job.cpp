// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/capture/export_job.hpp"

#include <QtConcurrent/QtConcurrentRun>

namespace fleetscope::ui {

ExportJob::ExportJob(QObject* parent)
    : QObject(parent)
    , progress_(std::make_shared<Progress>())
{
    poll_.setInterval(100);
    connect(&poll_, &QTimer::timeout, this, [this] { emit progressed(done(), total()); });
    connect(&watcher_, &QFutureWatcher<store::ExportResult>::finished, this, [this] {
        poll_.stop();
        result_ = watcher_.result();
        emit progressed(done(), total());
        emit finished();
    });
}

ExportJob::~ExportJob()
{
    if (watcher_.isRunning()) {
        cancel();
        watcher_.waitForFinished();
    }
}

bool ExportJob::start(const ExportRequest& request)
{
    if (running())
        return false;
    request_ = request;
    result_ = {};
    // A fresh block per run: a cancelled run that is still winding down keeps its own.
    progress_ = std::make_shared<Progress>();
    auto progress = progress_;
    watcher_.setFuture(QtConcurrent::run([request, progress] {
        return store::export_data(request.db_path.toStdString(), request.query, request.format,
                                  request.out_path.toStdString(),
                                  [progress](std::uint64_t done, std::uint64_t total) {
                                      progress->done.store(done, std::memory_order_relaxed);
                                      progress->total.store(total, std::memory_order_relaxed);
                                      return !progress->cancel.load(std::memory_order_relaxed);
                                  });
    }));
    poll_.start();
    return true;
}

void ExportJob::cancel()
{
    progress_->cancel.store(true, std::memory_order_relaxed);
}

} // namespace fleetscope::ui
