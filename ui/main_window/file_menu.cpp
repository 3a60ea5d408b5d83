// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/main_window/file_menu.hpp"

#include "core/store/store.hpp"
#include "core/util/clock.hpp"
#include "ui/capture/capture_replay.hpp"
#include "ui/capture/export_job.hpp"
#include "ui/capture/recent_files.hpp"
#include "ui/dialogs/export_dialog.hpp"
#include "ui/feed/gateway_controller.hpp"
#include "ui/main_window/main_window.hpp"
#include "ui/main_window/window_actions.hpp"
#include "ui/models/device_table_model.hpp"
#include "ui/pages/dashboard.hpp"
#include "ui/pages/devices_page.hpp"

#include <QAction>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QLocale>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressDialog>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QStatusBar>
#include <QTableView>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>

namespace fleetscope::ui {

namespace {

QString captureFilter()
{
    return QObject::tr("FleetScope captures (*%1);;FleetScope databases (*.db *.sqlite);;All files (*)")
        .arg(QString::fromLatin1(store::kCaptureExtension.data(),
                                 static_cast<qsizetype>(store::kCaptureExtension.size())));
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

QString hhmmss(qint64 ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms).toString(QStringLiteral("hh:mm:ss"));
}

} // namespace

FileMenu::FileMenu(MainWindow* window, GatewayController* controller, WindowActions* actions)
    : QObject(window)
    , window_(window)
    , actions_(actions)
{
    QMenu* file = window_->menuBar()->addMenu(tr("&File"));
    file->setObjectName(QStringLiteral("fileMenu"));
    QAction* open = file->addAction(tr("&Open capture…"), this, &FileMenu::openCaptureInteractive);
    open->setObjectName(QStringLiteral("openCapture"));
    open->setShortcut(QKeySequence::Open);
    actions->list(open);
    recent_ = file->addMenu(tr("Open &recent"));
    recent_->setObjectName(QStringLiteral("recentMenu"));
    connect(recent_, &QMenu::aboutToShow, this, &FileMenu::fillRecent);
    file->addSeparator();
    QAction* exportData = file->addAction(tr("&Export data…"), this, &FileMenu::exportDataInteractive);
    exportData->setObjectName(QStringLiteral("exportData"));
    exportData->setToolTip(tr("Export a capture, CSV or JSON Lines of a session or time range"));
    file->addAction(actions->exportViewAction());
    file->addAction(tr("Export &window as PNG/PDF…"), this, &FileMenu::exportWindowInteractive);
    file->addAction(actions->exportPlotAction());
    file->addSeparator();
    mark_ = file->addAction(tr("Record &mark"));
    mark_->setObjectName(QStringLiteral("recordMark"));
    mark_->setCheckable(true);
    mark_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    mark_->setToolTip(tr("Start, then stop, a marked recording span of the running session"));
    window_->addAction(mark_);
    actions->list(mark_);
    connect(mark_, &QAction::toggled, this, &FileMenu::toggleMark);
    connect(controller, &GatewayController::markRecorded, this,
            [this](const QString& label, const QString& error) {
                window_->statusBar()->showMessage(
                    error.isEmpty() ? tr("Marked span '%1' recorded in this session").arg(label)
                                    : tr("Span not marked: %1").arg(error),
                    8000);
                emit markRecorded(label, error);
            });
    connect(window_, &MainWindow::gatewayStopped, this, [this] {
        if (mark_->isChecked()) {
            const QSignalBlocker block(mark_);
            mark_->setChecked(false);
            mark_->setText(tr("Record &mark"));
            window_->statusBar()->showMessage(tr("The gateway stopped: the span being marked was discarded"),
                                              8000);
        }
    });
    file->addSeparator();
    file->addAction(tr("&Quit"), window_, &QWidget::close);
}

void FileMenu::setGatewayState(bool running, bool busy)
{
    mark_->setEnabled(running && !busy);
}

void FileMenu::openCapture(const QString& path)
{
    window_->offline() ? window_->openCapture(path) : reviewInOwnWindow(window_, path);
}

void FileMenu::fillRecent()
{
    QSettings prefs;
    RecentFiles recent(prefs);
    const QStringList missing = recent.pruneMissing();
    if (!missing.isEmpty()) {
        QStringList names;
        for (const QString& path : missing)
            names << QDir::toNativeSeparators(path);
        window_->statusBar()->showMessage(
            tr("Removed from Open recent, no longer there: %1").arg(names.join(QStringLiteral(", "))),
            10'000);
    }
    recent_->clear();
    const QStringList entries = recent.entries();
    for (int i = 0; i < entries.size(); ++i) {
        const QString path = entries[i];
        QAction* a = recent_->addAction(
            QStringLiteral("&%1  %2").arg(i + 1 == 10 ? 0 : i + 1).arg(QFileInfo(path).fileName()));
        a->setToolTip(QDir::toNativeSeparators(path));
        a->setStatusTip(QDir::toNativeSeparators(path));
        connect(a, &QAction::triggered, this, [this, path] { openCapture(path); });
    }
    if (entries.isEmpty())
        recent_->addAction(tr("No recent captures"))->setEnabled(false);
    recent_->addSeparator();
    recent_->addAction(tr("Clear list"), this, [] {
        QSettings prefs;
        RecentFiles(prefs).clear();
    });
}

void FileMenu::openCaptureInteractive()
{
    QSettings prefs;
    const QString path = QFileDialog::getOpenFileName(
        window_, tr("Open capture"), prefs.value(QStringLiteral("capture/dir"), QDir::homePath()).toString(),
        captureFilter());
    if (path.isEmpty())
        return;
    prefs.setValue(QStringLiteral("capture/dir"), QFileInfo(path).absolutePath());
    openCapture(path);
}

ExportJob* FileMenu::startExport(const ExportRequest& request)
{
    auto* job = new ExportJob(window_);
    auto* progress = new QProgressDialog(tr("Exporting to %1…").arg(QFileInfo(request.out_path).fileName()),
                                         tr("Cancel"), 0, 1000, window_);
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
        progress->setLabelText(
            tr("Exporting: %1 of %2 readings").arg(QLocale().toString(done), QLocale().toString(total)));
    });
    connect(job, &ExportJob::finished, this, [this, job, progress] {
        progress->deleteLater();
        job->deleteLater();
        const store::ExportResult& r = job->result();
        const QString out = QDir::toNativeSeparators(job->request().out_path);
        switch (r.status) {
        case store::ExportStatus::ok: {
            const QLocale locale;
            window_->statusBar()->showMessage(tr("Exported %1 readings of %2 devices to %3 in %4 s")
                                                  .arg(locale.toString(static_cast<qulonglong>(r.samples)),
                                                       locale.toString(static_cast<qulonglong>(r.devices)),
                                                       out, locale.toString(r.seconds, 'f', 1)),
                                              10'000);
            if (!r.warnings.empty()) {
                QStringList lines;
                for (const std::string& w : r.warnings)
                    lines << QString::fromStdString(w);
                auto* box = new QMessageBox(
                    QMessageBox::Information, tr("Export"),
                    tr("Exported to %1, with warnings:\n%2").arg(out, lines.join(QLatin1Char('\n'))),
                    QMessageBox::Ok, window_);
                box->setAttribute(Qt::WA_DeleteOnClose);
                box->open();
            }
            break;
        }
        case store::ExportStatus::cancelled:
            window_->statusBar()->showMessage(tr("Export cancelled; nothing was written to %1").arg(out),
                                              8000);
            break;
        case store::ExportStatus::failed: {
            auto* box = new QMessageBox(QMessageBox::Warning, tr("Export failed"),
                                        QString::fromStdString(r.error), QMessageBox::Ok, window_);
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

void FileMenu::exportDataInteractive()
{
    const QString db = window_->databasePath();
    if (window_->attached() && db.isEmpty()) {
        QMessageBox::information(
            window_, tr("Export"),
            tr("Exports read the store the gateways share, and this monitor was attached without one: start "
               "it "
               "with --store URI (for example postgresql://user@host/fleetscope) as well as --attach."));
        return;
    }
    // A PostgreSQL store is no file to look for.
    const bool server = db.startsWith(QLatin1String("postgres"));
    if (db.isEmpty() || (!server && !QFileInfo::exists(db))) {
        QMessageBox::information(
            window_, tr("Export"),
            tr("There is nothing to export yet: the database %1 does not exist. Start the "
               "gateway, or open a capture.")
                .arg(QDir::toNativeSeparators(db)));
        return;
    }
    Dashboard* dashboard = window_->dashboard();
    QStringList selected;
    QTableView* view = dashboard->devicesPage()->view();
    for (const QModelIndex& index : view->selectionModel()->selectedRows())
        selected << dashboard->deviceModel()->deviceAt(
            dashboard->devicesPage()->proxy()->mapToSource(index).row());
    const qint64 now = util::now_ms();
    CaptureReplay* replay = window_->replay();
    const qint64 from = replay ? replay->beginMs() : now - 3600'000;
    const qint64 to = replay ? replay->endMs() : now;
    ExportDialog dialog(db, selected, dashboard->deviceModel()->metricNames(), from, to, window_);
    if (replay) {
        dialog.setSessions(replay->data()->info.sessions);
    } else {
        // Read off the GUI thread: the database may be large and busy with the gateway's writes.
        auto* watcher = new QFutureWatcher<std::vector<store::SessionRow>>(&dialog);
        connect(watcher, &QFutureWatcher<std::vector<store::SessionRow>>::finished, &dialog,
                [&dialog, watcher] { dialog.setSessions(watcher->result()); });
        watcher->setFuture(QtConcurrent::run([path = db.toStdString(), server] {
            try {
                return server ? store::open_reader(path)->sessions() : store::CaptureReader(path).sessions();
            } catch (const std::exception&) {
                return std::vector<store::SessionRow>{};
            }
        }));
    }
    if (dialog.exec() != QDialog::Accepted)
        return;
    startExport(dialog.request());
}

void FileMenu::exportWindowInteractive()
{
    actions_->exportInteractive(tr("Export window"), QStringLiteral("fleetscope-window.png"),
                                [this](const QString& path) { return window_->exportWindow(path); });
}

void FileMenu::toggleMark(bool recording)
{
    const qint64 now = util::now_ms();
    if (recording) {
        mark_from_ms_ = now;
        mark_->setText(tr("Stop &mark (recording since %1)").arg(hhmmss(now)));
        window_->statusBar()->showMessage(
            tr("Marking a span from %1; stop it from the File menu (Ctrl+M)").arg(hhmmss(now)), 8000);
        return;
    }
    mark_->setText(tr("Record &mark"));
    const QString suggested = tr("span %1–%2").arg(hhmmss(mark_from_ms_), hhmmss(now));
    bool ok = false;
    const QString label = QInputDialog::getText(window_, tr("Mark span"), tr("Label of the marked span:"),
                                                QLineEdit::Normal, suggested, &ok);
    if (ok && !label.trimmed().isEmpty())
        window_->addMark(label.trimmed(), mark_from_ms_, now);
}

} // namespace fleetscope::ui
