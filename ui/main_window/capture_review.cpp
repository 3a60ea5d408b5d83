// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/main_window/capture_review.hpp"

#include "ui/capture/capture_replay.hpp"
#include "ui/capture/recent_files.hpp"
#include "ui/capture/replay_bar.hpp"
#include "ui/feed/live_feed.hpp"
#include "ui/main_window/main_window.hpp"
#include "ui/main_window/status_panel.hpp"
#include "ui/pages/dashboard.hpp"
#include "ui/pages/device_detail_page.hpp"
#include "ui/plots/time_window.hpp"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QLabel>
#include <QLocale>
#include <QMessageBox>
#include <QProgressDialog>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>
#include <QToolBar>
#include <QtConcurrent/QtConcurrentRun>

#include <atomic>
#include <memory>

namespace fleetscope::ui {

CaptureReview::CaptureReview(MainWindow* window, StatusPanel* status)
    : QObject(window)
    , window_(window)
    , status_(status)
{}

void CaptureReview::open(const QString& path)
{
    loading_ = true;
    window_->statusBar()->showMessage(tr("Loading %1…").arg(QDir::toNativeSeparators(path)));
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    auto done = std::make_shared<std::atomic<quint64>>(0);
    auto total = std::make_shared<std::atomic<quint64>>(0);
    // Large captures take a while to read: a progress dialog appears after half a second, and cancels.
    auto* progress = new QProgressDialog(tr("Reading %1…").arg(QFileInfo(path).fileName()), tr("Cancel"), 0,
                                         0, window_->isVisible() ? window_ : nullptr);
    progress->setObjectName(QStringLiteral("loadProgress"));
    progress->setWindowTitle(tr("Open capture"));
    progress->setMinimumDuration(500);
    progress->setAutoClose(false);
    progress->setAutoReset(false);
    connect(progress, &QProgressDialog::canceled, this, [cancel] { cancel->store(true); });
    if (!progress->parent()) {
        // Parentless while the window is hidden (fleetscope --open): it goes, and the load stops, with the
        // window.
        connect(this, &QObject::destroyed, progress, [progress, cancel] {
            cancel->store(true);
            progress->deleteLater();
        });
    }
    auto* poll = new QTimer(progress);
    connect(poll, &QTimer::timeout, progress, [progress, done, total] {
        if (total->load() > 0) {
            progress->setMaximum(static_cast<int>(total->load()));
            progress->setValue(static_cast<int>(done->load()));
        }
    });
    poll->start(100);

    auto* watcher = new QFutureWatcher<ReplayLoad>(this);
    connect(watcher, &QFutureWatcher<ReplayLoad>::finished, this, [this, watcher, progress, cancel, path] {
        progress->deleteLater();
        loading_ = false;
        const ReplayLoad load = watcher->result();
        watcher->deleteLater();
        if (cancel->load()) {
            window_->statusBar()->showMessage(tr("Opening %1 cancelled").arg(QDir::toNativeSeparators(path)),
                                              5000);
            emit failed(path, tr("cancelled"));
            return;
        }
        loaded(load, path);
    });
    watcher->setFuture(QtConcurrent::run([path, cancel, done, total] {
        return loadReplayData(path, [cancel, done, total](std::uint64_t d, std::uint64_t t) {
            done->store(d);
            total->store(t);
            return !cancel->load();
        });
    }));
}

void CaptureReview::loaded(const ReplayLoad& load, const QString& path)
{
    window_->statusBar()->clearMessage();
    if (!load.data) {
        if (QSettings prefs; !QFileInfo::exists(path))
            RecentFiles(prefs).remove(path);
        if (active()) {
            // A review window keeps showing its capture; elsewhere the caller reports the failure.
            auto* box =
                new QMessageBox(QMessageBox::Warning, tr("Open capture"),
                                tr("Cannot open %1:\n%2").arg(QDir::toNativeSeparators(path), load.error),
                                QMessageBox::Ok, window_);
            box->setAttribute(Qt::WA_DeleteOnClose);
            box->open();
        }
        emit failed(path, load.error);
        return;
    }
    if (!replay_)
        becomeReview();
    path_ = QFileInfo(path).absoluteFilePath();
    const store::CaptureInfo& info = load.data->info;
    const QLocale locale;
    QString origin = info.app_version.empty()
                         ? QString()
                         : tr(" · recorded by FleetScope %1").arg(QString::fromStdString(info.app_version));
    if (info.schema_version > 0 && info.schema_version < store::kSchemaVersion)
        origin += tr(" · schema %1, migrated for reading").arg(info.schema_version);
    banner_label_->setText(
        tr("<b>Offline capture</b> %1 · read-only · %2 – %3 · %4 devices · %5 readings · %6 session(s)%7")
            .arg(QFileInfo(path).fileName().toHtmlEscaped(),
                 QDateTime::fromMSecsSinceEpoch(load.data->begin_ms)
                     .toString(QStringLiteral("yyyy-MM-dd hh:mm:ss")),
                 QDateTime::fromMSecsSinceEpoch(load.data->end_ms).toString(QStringLiteral("hh:mm:ss")),
                 locale.toString(static_cast<qulonglong>(load.data->devices.size())),
                 locale.toString(static_cast<qulonglong>(load.data->readings.size())))
            .arg(info.sessions.size())
            .arg(origin.toHtmlEscaped()));
    banner_label_->setToolTip(QDir::toNativeSeparators(path_));
    window_->setWindowTitle(tr("%1 — FleetScope (offline capture)").arg(QFileInfo(path).fileName()));

    replay_->setData(load.data);
    bar_->reload();
    replay_->start();
    replay_->step(0); // the views show the end state at once, not a frame later
    QSettings prefs;
    RecentFiles(prefs).add(path_);
    emit opened(path_);
}

void CaptureReview::becomeReview()
{
    // The window's feed and gateway stay idle from here on, and the replay drives the views through the same
    // frame path the live feed uses.
    Dashboard* dashboard = window_->dashboard();
    window_->feed()->stop();
    window_->feed()->setSubscription(nullptr);
    replay_ = new CaptureReplay(this);
    connect(replay_, &CaptureReplay::frameReady, this, &CaptureReview::frameReady);
    connect(replay_, &CaptureReplay::resetRequested, dashboard, &Dashboard::clearViews);
    connect(dashboard, &Dashboard::watchedDeviceChanged, replay_,
            [this](const QString& device) { replay_->setWatchedDevice(device.toStdString()); });
    replay_->setWatchedDevice(dashboard->detailPage()->device().toStdString());
    window_->timeWindow()->setClock([r = replay_] { return static_cast<double>(r->position()) / 1000.0; });
    dashboard->detailPage()->setHistoryNote(tr("Offline capture: the readings come from the replay"));

    banner_ = new QToolBar(tr("Capture"), window_);
    banner_->setObjectName(QStringLiteral("captureBanner"));
    banner_->setMovable(false);
    banner_label_ = new QLabel(banner_);
    banner_label_->setObjectName(QStringLiteral("captureBannerLabel"));
    banner_label_->setContentsMargins(8, 4, 8, 4);
    banner_->addWidget(banner_label_);
    window_->addToolBarBreak(Qt::TopToolBarArea);
    window_->addToolBar(Qt::TopToolBarArea, banner_);
    bar_ = new ReplayBar(replay_, window_);
    window_->addToolBar(Qt::BottomToolBarArea, bar_);
    // The status bar refreshes once a second of replay time, which stands still while paused: the wall
    // clock drives it instead.
    auto* status = new QTimer(this);
    connect(status, &QTimer::timeout, dashboard, &Dashboard::secondElapsed);
    status->start(1000);
    status_->setState(StatusPanel::State::Offline);
}

} // namespace fleetscope::ui
