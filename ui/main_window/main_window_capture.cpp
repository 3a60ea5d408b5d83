// SPDX-License-Identifier: GPL-3.0-or-later
// MainWindow's File menu and session captures: open (offline review with replay), recent files, export of
// data, of the window, and marked recording spans. Kept apart from main_window.cpp, which is about the live
// monitor.
#include "ui/capture/capture_replay.hpp"
#include "ui/capture/export_job.hpp"
#include "ui/capture/recent_files.hpp"
#include "ui/capture/replay_bar.hpp"
#include "ui/dialogs/export_dialog.hpp"
#include "ui/feed/live_feed.hpp"
#include "ui/main_window/main_window.hpp"
#include "ui/models/device_table_model.hpp"
#include "ui/pages/dashboard.hpp"
#include "ui/pages/device_detail_page.hpp"
#include "ui/pages/devices_page.hpp"
#include "ui/plots/time_window.hpp"

#include <QApplication>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLocale>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPainter>
#include <QPdfWriter>
#include <QPixmap>
#include <QProgressDialog>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QStatusBar>
#include <QTableView>
#include <QTimer>
#include <QToolBar>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <atomic>
#include <memory>

namespace fleetscope::ui {

namespace {

QString captureFilter()
{
    return QObject::tr("FleetScope captures (*%1);;FleetScope databases (*.db *.sqlite);;All files (*)")
        .arg(QString::fromLatin1(store::kCaptureExtension.data(),
                                 static_cast<qsizetype>(store::kCaptureExtension.size())));
}

// PNG through QWidget::grab; PDF by rendering the widget onto a page of its own size.
QString exportWidget(QWidget* widget, const QString& path)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == QLatin1String("png"))
        return widget->grab().save(path, "PNG") ? QString() : QObject::tr("cannot write '%1'").arg(path);
    if (suffix == QLatin1String("pdf")) {
        QPdfWriter writer(path);
        writer.setCreator(QStringLiteral("FleetScope"));
        writer.setResolution(96);
        writer.setPageSize(QPageSize(widget->size(), QPageSize::Point));
        writer.setPageMargins(QMarginsF(0, 0, 0, 0));
        QPainter painter;
        if (!painter.begin(&writer))
            return QObject::tr("cannot write '%1'").arg(path);
        const double scale = std::min(writer.width() / static_cast<double>(widget->width()),
                                      writer.height() / static_cast<double>(widget->height()));
        painter.scale(scale, scale);
        widget->render(&painter);
        painter.end();
        return {};
    }
    return QObject::tr("cannot export to '%1': expected a file name ending in .png or .pdf").arg(path);
}

// The live window keeps its gateway: a capture gets a window of its own, shown once it has loaded; a failure
// is reported by the window it was asked from.
void reviewInOwnWindow(MainWindow* from, const QString& path)
{
    auto* review = new MainWindow(from->settings());
    review->setAttribute(Qt::WA_DeleteOnClose);
    QObject::connect(review, &MainWindow::captureOpened, review, &QWidget::show);
    QObject::connect(review, &MainWindow::captureFailed, from,
                     [from, review](const QString& p, const QString& error) {
                         review->deleteLater();
                         QMessageBox::warning(
                             from, MainWindow::tr("Open capture"),
                             MainWindow::tr("Cannot open %1:\n%2").arg(QDir::toNativeSeparators(p), error));
                     });
    review->openCapture(path);
}

} // namespace

void MainWindow::buildFileMenu()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->setObjectName(QStringLiteral("fileMenu"));
    QAction* open = file->addAction(tr("&Open capture…"), this, &MainWindow::openCaptureInteractive);
    open->setObjectName(QStringLiteral("openCapture"));
    open->setShortcut(QKeySequence::Open);
    shortcut_actions_.push_back(open);
    recent_menu_ = file->addMenu(tr("Open &recent"));
    recent_menu_->setObjectName(QStringLiteral("recentMenu"));
    connect(recent_menu_, &QMenu::aboutToShow, this, &MainWindow::fillRecentMenu);
    file->addSeparator();
    QAction* exportData = file->addAction(tr("&Export data…"), this, &MainWindow::exportDataInteractive);
    exportData->setObjectName(QStringLiteral("exportData"));
    exportData->setToolTip(tr("Export a capture, CSV or JSON Lines of a session or time range"));
    file->addAction(export_view_);
    file->addAction(tr("Export &window as PNG/PDF…"), this, &MainWindow::exportWindowInteractive);
    file->addAction(export_plot_);
    file->addSeparator();
    mark_ = file->addAction(tr("Record &mark"));
    mark_->setObjectName(QStringLiteral("recordMark"));
    mark_->setCheckable(true);
    mark_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    mark_->setToolTip(tr("Start, then stop, a marked recording span of the running session"));
    addAction(mark_);
    shortcut_actions_.push_back(mark_);
    connect(mark_, &QAction::toggled, this, &MainWindow::toggleMark);
    connect(controller_, &GatewayController::markRecorded, this,
            [this](const QString& label, const QString& error) {
                statusBar()->showMessage(error.isEmpty()
                                             ? tr("Marked span '%1' recorded in this session").arg(label)
                                             : tr("Span not marked: %1").arg(error),
                                         8000);
                emit markRecorded(label, error);
            });
    connect(this, &MainWindow::gatewayStopped, this, [this] {
        if (mark_->isChecked()) {
            const QSignalBlocker block(mark_);
            mark_->setChecked(false);
            mark_->setText(tr("Record &mark"));
            statusBar()->showMessage(tr("The gateway stopped: the span being marked was discarded"), 8000);
        }
    });
    file->addSeparator();
    file->addAction(tr("&Quit"), this, &MainWindow::close);
}

void MainWindow::fillRecentMenu()
{
    QSettings prefs;
    RecentFiles recent(prefs);
    const QStringList missing = recent.pruneMissing();
    if (!missing.isEmpty()) {
        QStringList names;
        for (const QString& path : missing)
            names << QDir::toNativeSeparators(path);
        statusBar()->showMessage(
            tr("Removed from Open recent, no longer there: %1").arg(names.join(QStringLiteral(", "))),
            10'000);
    }
    recent_menu_->clear();
    const QStringList entries = recent.entries();
    for (int i = 0; i < entries.size(); ++i) {
        const QString path = entries[i];
        QAction* a = recent_menu_->addAction(
            QStringLiteral("&%1  %2").arg(i + 1 == 10 ? 0 : i + 1).arg(QFileInfo(path).fileName()));
        a->setToolTip(QDir::toNativeSeparators(path));
        a->setStatusTip(QDir::toNativeSeparators(path));
        connect(a, &QAction::triggered, this, [this, path] { reviewCapture(path); });
    }
    if (entries.isEmpty())
        recent_menu_->addAction(tr("No recent captures"))->setEnabled(false);
    recent_menu_->addSeparator();
    recent_menu_->addAction(tr("Clear list"), this, [] {
        QSettings prefs;
        RecentFiles(prefs).clear();
    });
}

void MainWindow::openCaptureInteractive()
{
    QSettings prefs;
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open capture"), prefs.value(QStringLiteral("capture/dir"), QDir::homePath()).toString(),
        captureFilter());
    if (path.isEmpty())
        return;
    prefs.setValue(QStringLiteral("capture/dir"), QFileInfo(path).absolutePath());
    reviewCapture(path);
}

void MainWindow::reviewCapture(const QString& path)
{
    offline() ? openCapture(path) : reviewInOwnWindow(this, path);
}

void MainWindow::openCapture(const QString& path)
{
    if (capture_loading_ || running_ || controller_->busy()) {
        emit captureFailed(path,
                           tr("this window is busy (a capture is loading or the gateway runs); open the "
                              "capture from the File menu, which gives it a window of its own"));
        return;
    }
    capture_loading_ = true;
    statusBar()->showMessage(tr("Loading %1…").arg(QDir::toNativeSeparators(path)));
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    auto done = std::make_shared<std::atomic<quint64>>(0);
    auto total = std::make_shared<std::atomic<quint64>>(0);
    // Large captures take a while to read: a progress dialog appears after half a second, and cancels.
    auto* progress = new QProgressDialog(tr("Reading %1…").arg(QFileInfo(path).fileName()), tr("Cancel"), 0,
                                         0, isVisible() ? this : nullptr);
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
        capture_loading_ = false;
        const ReplayLoad load = watcher->result();
        watcher->deleteLater();
        if (cancel->load()) {
            statusBar()->showMessage(tr("Opening %1 cancelled").arg(QDir::toNativeSeparators(path)), 5000);
            emit captureFailed(path, tr("cancelled"));
            return;
        }
        captureLoaded(load, path);
    });
    watcher->setFuture(QtConcurrent::run([path, cancel, done, total] {
        return loadReplayData(path, [cancel, done, total](std::uint64_t d, std::uint64_t t) {
            done->store(d);
            total->store(t);
            return !cancel->load();
        });
    }));
}

void MainWindow::captureLoaded(const ReplayLoad& load, const QString& path)
{
    statusBar()->clearMessage();
    if (!load.data) {
        if (QSettings prefs; !QFileInfo::exists(path))
            RecentFiles(prefs).remove(path);
        if (offline()) {
            // A review window keeps showing its capture; elsewhere the caller reports the failure.
            auto* box =
                new QMessageBox(QMessageBox::Warning, tr("Open capture"),
                                tr("Cannot open %1:\n%2").arg(QDir::toNativeSeparators(path), load.error),
                                QMessageBox::Ok, this);
            box->setAttribute(Qt::WA_DeleteOnClose);
            box->open();
        }
        emit captureFailed(path, load.error);
        return;
    }
    if (!replay_) {
        // This window becomes a review: its feed and gateway stay idle, and the replay drives the views
        // through the same frame path the live feed uses.
        feed_->stop();
        feed_->setSubscription(nullptr);
        replay_ = new CaptureReplay(this);
        connect(replay_, &CaptureReplay::frameReady, this, &MainWindow::onFrame);
        connect(replay_, &CaptureReplay::resetRequested, dashboard_, &Dashboard::clearViews);
        connect(dashboard_, &Dashboard::watchedDeviceChanged, replay_,
                [this](const QString& device) { replay_->setWatchedDevice(device.toStdString()); });
        replay_->setWatchedDevice(detailPage()->device().toStdString());
        window_->setClock([r = replay_] { return static_cast<double>(r->position()) / 1000.0; });
        detailPage()->setHistoryNote(tr("Offline capture: the readings come from the replay"));

        banner_ = new QToolBar(tr("Capture"), this);
        banner_->setObjectName(QStringLiteral("captureBanner"));
        banner_->setMovable(false);
        banner_label_ = new QLabel(banner_);
        banner_label_->setObjectName(QStringLiteral("captureBannerLabel"));
        banner_label_->setContentsMargins(8, 4, 8, 4);
        banner_->addWidget(banner_label_);
        addToolBarBreak(Qt::TopToolBarArea);
        addToolBar(Qt::TopToolBarArea, banner_);
        replay_bar_ = new ReplayBar(replay_, this);
        addToolBar(Qt::BottomToolBarArea, replay_bar_);
        // The status bar refreshes once a second of replay time, which stands still while paused: the wall
        // clock drives it instead.
        auto* status = new QTimer(this);
        connect(status, &QTimer::timeout, dashboard_, &Dashboard::secondElapsed);
        status->start(1000);
        state_label_->setText(tr("● Offline capture"));
        state_label_->setProperty("state", QStringLiteral("offline"));
    }
    capture_path_ = QFileInfo(path).absoluteFilePath();
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
    banner_label_->setToolTip(QDir::toNativeSeparators(capture_path_));
    setWindowTitle(tr("%1 — FleetScope (offline capture)").arg(QFileInfo(path).fileName()));

    replay_->setData(load.data);
    replay_bar_->reload();
    replay_->start();
    replay_->step(0); // the views show the end state at once, not a frame later
    updateActions();
    updateStatus();
    QSettings prefs;
    RecentFiles(prefs).add(capture_path_);
    emit captureOpened(capture_path_);
}

double MainWindow::replayFrameMs() const
{
    return replay_->lastFrameMs();
}

ExportJob* MainWindow::startExport(const ExportRequest& request)
{
    auto* job = new ExportJob(this);
    auto* progress = new QProgressDialog(tr("Exporting to %1…").arg(QFileInfo(request.out_path).fileName()),
                                         tr("Cancel"), 0, 1000, this);
    progress->setObjectName(QStringLiteral("exportProgress"));
    progress->setWindowTitle(tr("Export"));
    progress->setMinimumDuration(300);
    progress->setAutoClose(false);
    progress->setAutoReset(false);
    progress->setValue(0);
    connect(progress, &QProgressDialog::canceled, job, &ExportJob::cancel);
    connect(job, &ExportJob::progressed, progress, [progress](quint64 done, quint64 total) {
        // Per mille: the counts can exceed an int.
        progress->setValue(total > 0 ? static_cast<int>(std::min<quint64>(1000, done * 1000 / total)) : 0);
        progress->setLabelText(QObject::tr("Exporting: %1 of %2 readings")
                                   .arg(QLocale().toString(done), QLocale().toString(total)));
    });
    connect(job, &ExportJob::finished, this, [this, job, progress] {
        progress->deleteLater();
        job->deleteLater();
        const store::ExportResult& r = job->result();
        const QString out = QDir::toNativeSeparators(job->request().out_path);
        switch (r.status) {
        case store::ExportStatus::ok: {
            const QLocale locale;
            statusBar()->showMessage(tr("Exported %1 readings of %2 devices to %3 in %4 s")
                                         .arg(locale.toString(static_cast<qulonglong>(r.samples)),
                                              locale.toString(static_cast<qulonglong>(r.devices)), out,
                                              locale.toString(r.seconds, 'f', 1)),
                                     10'000);
            if (!r.warnings.empty()) {
                QStringList lines;
                for (const std::string& w : r.warnings)
                    lines << QString::fromStdString(w);
                auto* box = new QMessageBox(
                    QMessageBox::Information, tr("Export"),
                    tr("Exported to %1, with warnings:\n%2").arg(out, lines.join(QLatin1Char('\n'))),
                    QMessageBox::Ok, this);
                box->setAttribute(Qt::WA_DeleteOnClose);
                box->open();
            }
            break;
        }
        case store::ExportStatus::cancelled:
            statusBar()->showMessage(tr("Export cancelled; nothing was written to %1").arg(out), 8000);
            break;
        case store::ExportStatus::failed: {
            auto* box = new QMessageBox(QMessageBox::Warning, tr("Export failed"),
                                        QString::fromStdString(r.error), QMessageBox::Ok, this);
            box->setAttribute(Qt::WA_DeleteOnClose);
            box->open();
            break;
        }
        }
    });
    if (!job->start(request)) {
        progress->deleteLater();
        job->deleteLater();
        return nullptr;
    }
    return job;
}

void MainWindow::exportDataInteractive()
{
    const QString db =
        offline() ? capture_path_ : (running_ ? info_.db_path : QString::fromStdString(settings_.db_path));
    if (db.isEmpty() || !QFileInfo::exists(db)) {
        QMessageBox::information(
            this, tr("Export"),
            tr("There is nothing to export yet: the database %1 does not exist. Start the "
               "gateway, or open a capture.")
                .arg(QDir::toNativeSeparators(db)));
        return;
    }
    QStringList selected;
    QTableView* view = dashboard_->devicesPage()->view();
    for (const QModelIndex& index : view->selectionModel()->selectedRows())
        selected << deviceModel()->deviceAt(dashboard_->devicesPage()->proxy()->mapToSource(index).row());
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const qint64 from = offline() ? replay_->beginMs() : now - 3600'000;
    const qint64 to = offline() ? replay_->endMs() : now;
    ExportDialog dialog(db, selected, deviceModel()->metricNames(), from, to, this);
    if (offline()) {
        dialog.setSessions(replay_->data()->info.sessions);
    } else {
        // Read off the GUI thread: the database may be large and busy with the gateway's writes.
        auto* watcher = new QFutureWatcher<std::vector<store::SessionRow>>(&dialog);
        connect(watcher, &QFutureWatcher<std::vector<store::SessionRow>>::finished, &dialog,
                [&dialog, watcher] { dialog.setSessions(watcher->result()); });
        watcher->setFuture(QtConcurrent::run([path = db.toStdString()] {
            try {
                return store::CaptureReader(path).sessions();
            } catch (const std::exception&) {
                return std::vector<store::SessionRow>{};
            }
        }));
    }
    if (dialog.exec() != QDialog::Accepted)
        return;
    startExport(dialog.request());
}

void MainWindow::exportWindowInteractive()
{
    const QString path =
        QFileDialog::getSaveFileName(this, tr("Export window"), QStringLiteral("fleetscope-window.png"),
                                     tr("PNG image (*.png);;PDF document (*.pdf)"));
    if (path.isEmpty())
        return;
    if (const QString error = exportWindow(path); !error.isEmpty())
        QMessageBox::warning(this, tr("Export window"), error);
    else
        statusBar()->showMessage(tr("Wrote %1").arg(path), 5000);
}

QString MainWindow::exportWindow(const QString& path)
{
    return exportWidget(this, path);
}

void MainWindow::toggleMark(bool recording)
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (recording) {
        mark_from_ms_ = now;
        mark_->setText(tr("Stop &mark (recording since %1)")
                           .arg(QDateTime::fromMSecsSinceEpoch(now).toString(QStringLiteral("hh:mm:ss"))));
        statusBar()->showMessage(
            tr("Marking a span from %1; stop it from the File menu (Ctrl+M)")
                .arg(QDateTime::fromMSecsSinceEpoch(now).toString(QStringLiteral("hh:mm:ss"))),
            8000);
        return;
    }
    mark_->setText(tr("Record &mark"));
    const QString suggested =
        tr("span %1–%2")
            .arg(QDateTime::fromMSecsSinceEpoch(mark_from_ms_).toString(QStringLiteral("hh:mm:ss")),
                 QDateTime::fromMSecsSinceEpoch(now).toString(QStringLiteral("hh:mm:ss")));
    bool ok = false;
    const QString label = QInputDialog::getText(this, tr("Mark span"), tr("Label of the marked span:"),
                                                QLineEdit::Normal, suggested, &ok);
    if (ok && !label.trimmed().isEmpty())
        addMark(label.trimmed(), mark_from_ms_, now);
}

void MainWindow::addMark(const QString& label, qint64 from_ms, qint64 to_ms)
{
    controller_->requestMark(label, from_ms, to_ms);
}

} // namespace fleetscope::ui
