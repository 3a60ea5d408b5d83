// SPDX-License-Identifier: GPL-3.0-or-later
// Session captures in the monitor, end to end: the monitor's embedded gateway records real posts from a
// loopback client and a marked span, export_data writes a capture, and a second window reviews it offline:
// device table, overview and device detail show the recorded values; scrubbing shows the values of that
// moment; replay advances at 100×; exports from the UI path run off the GUI thread and cancel without leaving
// a file; PNG/PDF exports are valid; files that cannot be opened fail with a message, never a crash.
#include "core/store/capture.hpp"
#include "core/store/store.hpp"
#include "support/http_client.hpp"
#include "support/monitor_gateway.hpp"
#include "ui/capture/capture_replay.hpp"
#include "ui/capture/export_job.hpp"
#include "ui/capture/recent_files.hpp"
#include "ui/capture/replay_bar.hpp"
#include "ui/dialogs/export_dialog.hpp"
#include "ui/main_window/main_window.hpp"
#include "ui/models/device_table_model.hpp"
#include "ui/pages/dashboard.hpp"
#include "ui/pages/device_detail_page.hpp"
#include "ui/plots/live_plot.hpp"
#include "ui/plots/time_window.hpp"

#include <QComboBox>
#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QLabel>
#include <QProcess>
#include <QProgressDialog>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QTemporaryDir>
#include <QTest>
#include <QToolBar>

#include <cmath>
#include <future>
#include <sqlite3.h>

using namespace fleetscope;
using namespace fleetscope::ui;

namespace {

constexpr int kDevices = 3;
constexpr int kSamples = 10;
constexpr std::int64_t kStepMs = 200;

QString deviceName(int d)
{
    return QStringLiteral("pump-%1").arg(d);
}

double tempOf(int d, int i)
{
    return 20.0 + i + d / 10.0;
}

// The value the model shows for `device` in `metric`'s column (NaN when absent).
double modelValue(DeviceTableModel* model, const QString& device, const QString& metric)
{
    const int row = model->rowOf(device);
    const auto column = model->metricNames().indexOf(metric);
    if (row < 0 || column < 0)
        return std::nan("");
    return model
        ->data(model->index(row, DeviceTableModel::kFixedColumns + static_cast<int>(column)),
               DeviceTableModel::SortRole)
        .toDouble();
}

qulonglong modelSamples(DeviceTableModel* model, const QString& device)
{
    const int row = model->rowOf(device);
    return row < 0 ? 0
                   : model->data(model->index(row, DeviceTableModel::ColSamples), DeviceTableModel::SortRole)
                         .toULongLong();
}

bool isPdf(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) && f.size() > 500 && f.read(5) == "%PDF-";
}

} // namespace

class TestUiCapture : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void openShowsTheCapture();
    void scrubbingShowsThatMoment();
    void replayAdvances();
    void deviceDetailFollowsTheReplay();
    void exportFromTheUiCancelsWithoutAFile();
    void exportFromTheUiWrites();
    void exportDialogBuildsTheQuery();
    void pngAndPdfExports();
    void badFilesFailClearly_data();
    void badFilesFailClearly();
    void commandLineOpen_data();
    void commandLineOpen();
    void recentFiles();
    void captureOfAnEarlierBuildOpens();

private:
    QString path(const QString& name) const { return dir_.filePath(name); }
    std::unique_ptr<MainWindow> openReview();
    void makeBigDatabase();

    QTemporaryDir dir_;
    QString capture_;
    QString db_;
    qint64 t0_ = 0;
};

void TestUiCapture::initTestCase()
{
    QVERIFY(dir_.isValid());
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, dir_.path());

    // Record: the monitor's own gateway on loopback, real posts, and a span marked through the UI.
    Settings settings;
    settings.listen = "127.0.0.1:0";
    db_ = path(QStringLiteral("fleet.db"));
    settings.db_path = db_.toStdString();
    settings.workers = 1;
    MainWindow window(settings);
    const auto started = testing::start_monitor_gateway(window);
    QVERIFY2(started, started.error().c_str());
    const std::uint16_t port = *started;

    testing::HttpClient client;
    QVERIFY(client.connect(port));
    t0_ = QDateTime::currentMSecsSinceEpoch();
    for (int i = 0; i < kSamples; ++i) {
        std::string body = "[";
        for (int d = 1; d <= kDevices; ++d) {
            body += (d > 1 ? "," : "") +
                    QStringLiteral(R"({"device":"%1","ts":%2,"metrics":{"temp_c":%3,"rssi":%4}})")
                        .arg(deviceName(d))
                        .arg(t0_ + i * kStepMs)
                        .arg(tempOf(d, i))
                        .arg(-60 - d)
                        .toStdString();
        }
        body += "]";
        const auto response = client.request(testing::post_telemetry(body));
        QVERIFY(response);
        QCOMPARE(response->result_int(), 204);
    }
    QSignalSpy marked(&window, &MainWindow::markRecorded);
    window.addMark(QStringLiteral("pump test"), t0_, t0_ + 5 * kStepMs);
    QTRY_COMPARE_WITH_TIMEOUT(marked.count(), 1, 5000);
    QCOMPARE(marked.at(0).at(1).toString(), QString());
    // Let the sampler record a few timeline points past the last reading, then end the session.
    QTest::qWait(static_cast<int>(kSamples * kStepMs) + 1500);
    QSignalSpy stopped(&window, &MainWindow::gatewayStopped);
    window.stopGateway();
    QTRY_COMPARE_WITH_TIMEOUT(stopped.count(), 1, 20'000);

    capture_ = path(QStringLiteral("pumps.fleetscope"));
    const store::ExportResult result =
        store::export_data(db_.toStdString(), {}, store::ExportFormat::capture, capture_.toStdString());
    QVERIFY2(result.ok(), result.error.c_str());
    QCOMPARE(result.samples, std::uint64_t{kDevices * kSamples * 2});
}

std::unique_ptr<MainWindow> TestUiCapture::openReview()
{
    Settings settings;
    settings.db_path = path(QStringLiteral("unused.db")).toStdString();
    auto window = std::make_unique<MainWindow>(settings);
    QSignalSpy opened(window.get(), &MainWindow::captureOpened);
    QSignalSpy failed(window.get(), &MainWindow::captureFailed);
    window->openCapture(capture_);
    if (!QTest::qWaitFor([&] { return opened.count() + failed.count() > 0; }, 20'000) || failed.count() > 0) {
        qWarning("open failed: %s", failed.isEmpty() ? "timeout" : qPrintable(failed.at(0).at(1).toString()));
        return nullptr;
    }
    window->show();
    return window;
}

void TestUiCapture::openShowsTheCapture()
{
    auto window = openReview();
    QVERIFY(window);
    QVERIFY(window->offline());
    QVERIFY(!window->gatewayRunning());
    QVERIFY(window->windowTitle().contains(QStringLiteral("pumps.fleetscope")));
    auto* banner = window->findChild<QLabel*>(QStringLiteral("captureBannerLabel"));
    QVERIFY(banner);
    QVERIFY2(banner->text().contains(QStringLiteral("Offline capture")), qPrintable(banner->text()));
    QVERIFY2(banner->text().contains(QStringLiteral("60 readings")), qPrintable(banner->text()));

    // At the end of the capture: every device with its last values and every sample counted.
    DeviceTableModel* model = window->deviceModel();
    QCOMPARE(model->rowCount(), kDevices);
    for (int d = 1; d <= kDevices; ++d) {
        QCOMPARE(modelValue(model, deviceName(d), QStringLiteral("temp_c")), tempOf(d, kSamples - 1));
        QCOMPARE(modelValue(model, deviceName(d), QStringLiteral("rssi")), -60.0 - d);
        QCOMPARE(modelSamples(model, deviceName(d)), qulonglong{kSamples});
        // The rate of the latest interval, as a live table would show it: a sample every kStepMs.
        const int row = model->rowOf(deviceName(d));
        QCOMPARE(
            model->data(model->index(row, DeviceTableModel::ColRate), DeviceTableModel::SortRole).toDouble(),
            1000.0 / kStepMs);
        QCOMPARE(model->statusAt(row), DeviceTableModel::Status::Live);
    }

    // The overview plots come from the recorded timeline.
    CaptureReplay* replay = window->replay();
    QVERIFY(!replay->data()->points.empty());
    auto* samplesPlot = window->findChild<LivePlot*>(QStringLiteral("plot-samples"));
    QVERIFY(samplesPlot);
    QCOMPARE(samplesPlot->graph(0)->data()->size(), static_cast<int>(replay->data()->points.size()));
    auto* connections = window->findChild<LivePlot*>(QStringLiteral("plot-connections"));
    QVERIFY(connections->graph(0)->data()->size() > 0);
    double maxConnections = 0;
    for (auto it = connections->graph(0)->data()->constBegin();
         it != connections->graph(0)->data()->constEnd(); ++it)
        maxConnections = std::max(maxConnections, it->value);
    QCOMPARE(maxConnections, 1.0); // the one keep-alive client

    // The plots follow the replay clock, not the wall clock.
    QCOMPARE(window->timeWindow()->now(), replay->endMs() / 1000.0);
    // The mark made while recording is offered to jump to.
    QComboBox* marks = window->replayBar()->marksCombo();
    QCOMPARE(marks->count(), 2);
    QVERIFY(marks->itemText(1).contains(QStringLiteral("pump test")));
}

void TestUiCapture::scrubbingShowsThatMoment()
{
    auto window = openReview();
    QVERIFY(window);
    CaptureReplay* replay = window->replay();
    DeviceTableModel* model = window->deviceModel();
    const qint64 begin = replay->beginMs();
    const qint64 span = replay->endMs() - begin;
    QVERIFY(span > 0);

    // Scrub with the slider, as a user would, to between the 5th and the 6th sample.
    const qint64 target = t0_ + 4 * kStepMs + kStepMs / 2;
    QSlider* slider = window->replayBar()->slider();
    const int step =
        static_cast<int>(std::ceil(static_cast<double>(target - begin) * ReplayBar::kSteps / span));
    slider->setValue(step);
    QVERIFY(std::llabs(replay->position() - target) <= span / ReplayBar::kSteps + 1);
    QSignalSpy reset(replay, &CaptureReplay::resetRequested);
    replay->step(0);
    QCOMPARE(reset.count(), 1); // back in time: the views were rebuilt
    for (int d = 1; d <= kDevices; ++d) {
        QCOMPARE(modelValue(model, deviceName(d), QStringLiteral("temp_c")), tempOf(d, 4));
        QCOMPARE(modelSamples(model, deviceName(d)), qulonglong{5});
    }
    QVERIFY(window->replayBar()->clockText().contains(
        QDateTime::fromMSecsSinceEpoch(replay->position()).toString(QStringLiteral("hh:mm:ss"))));

    // Forward again by seeking: the views move on without a rebuild.
    replay->seek(t0_ + 7 * kStepMs);
    replay->step(0);
    QCOMPARE(reset.count(), 1);
    QCOMPARE(modelValue(model, deviceName(2), QStringLiteral("temp_c")), tempOf(2, 7));
    QCOMPARE(modelSamples(model, deviceName(2)), qulonglong{8});

    // Before the first reading the table is empty again.
    slider->setValue(0);
    replay->step(0);
    QCOMPARE(replay->position(), begin);
    QCOMPARE(model->rowCount(), begin < t0_ ? 0 : kDevices);
}

void TestUiCapture::replayAdvances()
{
    auto window = openReview();
    QVERIFY(window);
    CaptureReplay* replay = window->replay();
    QComboBox* speed = window->replayBar()->speedCombo();
    QCOMPARE(speed->count(), 6);
    QCOMPARE(speed->itemData(speed->count() - 1).toDouble(), 100.0);
    speed->setCurrentIndex(speed->count() - 1);
    QCOMPARE(replay->speed(), 100.0);

    replay->seek(replay->beginMs());
    replay->step(0);
    window->replayBar()->playAction()->trigger();
    QVERIFY(replay->playing());
    // 5 ms of wall time at 100× is half a second of capture.
    const qint64 before = replay->position();
    replay->step(5);
    QCOMPARE(replay->position(), before + 500);

    // On its own timer it plays to the end and stops there, with every sample shown.
    QSignalSpy playing(replay, &CaptureReplay::playingChanged);
    QTRY_VERIFY_WITH_TIMEOUT(!replay->playing(), 10'000);
    QCOMPARE(replay->position(), replay->endMs());
    QVERIFY(!window->replayBar()->playAction()->isChecked());
    for (int d = 1; d <= kDevices; ++d)
        QCOMPARE(modelSamples(window->deviceModel(), deviceName(d)), qulonglong{kSamples});

    // Play at the end starts over from the beginning.
    replay->setPlaying(true);
    QCOMPARE(replay->position(), replay->beginMs());
    replay->setPlaying(false);
}

void TestUiCapture::deviceDetailFollowsTheReplay()
{
    auto window = openReview();
    QVERIFY(window);
    CaptureReplay* replay = window->replay();
    window->showDevice(deviceName(2));
    replay->step(0);
    LivePlot* temp = window->detailPage()->plotFor(QStringLiteral("temp_c"));
    QVERIFY(temp);
    QCOMPARE(temp->graph(0)->data()->size(), kSamples);
    QCOMPARE((temp->graph(0)->data()->constEnd() - 1)->value, tempOf(2, kSamples - 1));

    // Back to the 3rd sample: the detail shows three points, and gains the next ones as the replay runs.
    replay->seek(t0_ + 2 * kStepMs);
    replay->step(0);
    QCOMPARE(temp->graph(0)->data()->size(), 3);
    replay->seek(t0_ + 5 * kStepMs);
    replay->step(0);
    QCOMPARE(temp->graph(0)->data()->size(), 6);
    QCOMPARE((temp->graph(0)->data()->constEnd() - 1)->value, tempOf(2, 5));
}

void TestUiCapture::makeBigDatabase()
{
    // Large enough that an export reports progress several times (every 16k readings).
    const QString big = path(QStringLiteral("big.db"));
    if (QFile::exists(big))
        return;
    const auto opened = store::open_store(store::Options{.path = big.toStdString()});
    store::Writer& store = opened->writer();
    const std::int64_t t = QDateTime::currentMSecsSinceEpoch() - 3600'000;
    for (int batch = 0; batch < 20; ++batch) {
        std::vector<telemetry::Sample> samples;
        for (int i = 0; i < 5000; ++i)
            samples.push_back({"dev-" + std::to_string(i % 50),
                               t + batch * 5000 + i,
                               {{"a", static_cast<double>(i)}, {"b", 1.0}}});
        std::promise<store::CommitStatus> done;
        auto committed = done.get_future();
        QVERIFY(store.submit(std::move(samples), [&done](store::CommitStatus s) { done.set_value(s); }));
        QCOMPARE(committed.get(), store::CommitStatus::committed);
    }
    store.stop();
}

void TestUiCapture::exportFromTheUiCancelsWithoutAFile()
{
    makeBigDatabase();
    Settings settings;
    settings.db_path = path(QStringLiteral("unused.db")).toStdString();
    MainWindow window(settings);
    window.show();
    for (const auto format : {store::ExportFormat::capture, store::ExportFormat::csv}) {
        ExportRequest request;
        request.db_path = path(QStringLiteral("big.db"));
        request.format = format;
        request.out_path =
            path(QStringLiteral("cancelled") + QString::fromLatin1(store::file_extension(format).data()));
        ExportJob* job = window.startExport(request);
        QVERIFY(job);
        QVERIFY(job->running());
        QSignalSpy finished(job, &ExportJob::finished);
        // The window deletes the job once it has finished (deleteLater, which the wait below runs): keep its
        // result as it finishes.
        store::ExportResult result;
        connect(job, &ExportJob::finished, this, [&result, job] { result = job->result(); });
        // Cancel as the user does: the progress dialog's Cancel button.
        auto* progress = window.findChild<QProgressDialog*>(QStringLiteral("exportProgress"));
        QVERIFY(progress);
        auto* cancel = progress->findChild<QPushButton*>();
        QVERIFY(cancel);
        cancel->click();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 20'000);
        QCOMPARE(static_cast<int>(result.status), static_cast<int>(store::ExportStatus::cancelled));
        QVERIFY(!QFile::exists(request.out_path));
        QCOMPARE(QDir(dir_.path()).entryList({QStringLiteral("cancelled*")}, QDir::Files | QDir::Hidden),
                 QStringList());
    }
}

void TestUiCapture::exportFromTheUiWrites()
{
    makeBigDatabase();
    Settings settings;
    settings.db_path = path(QStringLiteral("unused.db")).toStdString();
    MainWindow window(settings);
    window.show();
    ExportRequest request;
    request.db_path = path(QStringLiteral("big.db"));
    request.format = store::ExportFormat::csv;
    request.out_path = path(QStringLiteral("big.csv"));
    ExportJob* job = window.startExport(request);
    QVERIFY(job);
    QSignalSpy progressed(job, &ExportJob::progressed);
    QSignalSpy finished(job, &ExportJob::finished);
    // The window deletes the job once it has finished: keep its result as it finishes.
    store::ExportResult result;
    connect(job, &ExportJob::finished, this, [&result, job] { result = job->result(); });
    // The GUI thread is free while it runs: this wait spins the event loop.
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60'000);
    QVERIFY2(result.ok(), result.error.c_str());
    QCOMPARE(result.samples, std::uint64_t{200'000});
    QVERIFY(!progressed.isEmpty());
    QCOMPARE(progressed.last().at(0).toULongLong(), 200'000ull);
    QFile csv(request.out_path);
    QVERIFY(csv.open(QIODevice::ReadOnly));
    QCOMPARE(csv.readLine().trimmed(), QByteArray("device,ts,iso_time,metric,value"));
}

void TestUiCapture::exportDialogBuildsTheQuery()
{
    ExportDialog dialog(capture_, {QStringLiteral("pump-1"), QStringLiteral("odd*name")},
                        {QStringLiteral("rssi"), QStringLiteral("temp_c")}, t0_, t0_ + 1000);
    store::SessionRow s;
    s.id = 7;
    s.started_at = t0_;
    dialog.setSessions({s});
    dialog.setOutputPath(path(QStringLiteral("out.fleetscope")));
    // The selected rows are preselected and matched exactly, glob characters included.
    ExportRequest r = dialog.request();
    QCOMPARE(r.query.devices, (std::vector<std::string>{"pump-1", "odd[*]name"}));
    QVERIFY(!r.query.session && !r.query.from && r.query.metrics.empty());
    QCOMPARE(dialog.validationError(), QString());

    dialog.setFormat(store::ExportFormat::jsonl);
    QCOMPARE(dialog.request().out_path, path(QStringLiteral("out.jsonl")));
    dialog.setDeviceGlobs(QStringLiteral("pump-*, sensor-?"));
    QCOMPARE(dialog.request().query.devices, (std::vector<std::string>{"pump-*", "sensor-?"}));
    dialog.setDeviceGlobs(QString());
    QVERIFY(!dialog.validationError().isEmpty());
    dialog.setDeviceGlobs(QStringLiteral("pump-*"));
    dialog.setOutputPath(capture_);
    QVERIFY(dialog.validationError().contains(QStringLiteral("overwrite")));
}

void TestUiCapture::pngAndPdfExports()
{
    auto window = openReview();
    QVERIFY(window);
    window->resize(1400, 900);
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    auto* plot = window->findChild<LivePlot*>(QStringLiteral("plot-connections"));
    QVERIFY(plot);
    QCOMPARE(plot->exportTo(path(QStringLiteral("plot.png"))), QString());
    QCOMPARE(plot->exportTo(path(QStringLiteral("plot.pdf"))), QString());
    QCOMPARE(window->dashboard()->exportView(path(QStringLiteral("view.png"))), QString());
    QCOMPARE(window->dashboard()->exportView(path(QStringLiteral("view.pdf"))), QString());
    QCOMPARE(window->exportWindow(path(QStringLiteral("window.png"))), QString());
    QCOMPARE(window->exportWindow(path(QStringLiteral("window.pdf"))), QString());
    for (const char* png : {"plot.png", "view.png", "window.png"}) {
        QImage image(path(QString::fromLatin1(png)));
        QVERIFY2(!image.isNull() && image.width() > 100 && image.height() > 100, png);
    }
    for (const char* pdf : {"plot.pdf", "view.pdf", "window.pdf"})
        QVERIFY2(isPdf(path(QString::fromLatin1(pdf))), pdf);
    QVERIFY(!window->exportWindow(path(QStringLiteral("window.gif"))).isEmpty());
}

void TestUiCapture::badFilesFailClearly_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("content"); // null: no file at all
    QTest::addRow("missing") << QStringLiteral("missing.fleetscope") << QByteArray();
    QTest::addRow("not sqlite") << QStringLiteral("garbage.fleetscope") << QByteArray(4096, 'x');
    QTest::addRow("truncated") << QStringLiteral("truncated.fleetscope")
                               << QByteArray("SQLite format 3\0", 16);
    QTest::addRow("empty") << QStringLiteral("empty.fleetscope") << QByteArray("");
}

void TestUiCapture::badFilesFailClearly()
{
    QFETCH(QString, name);
    QFETCH(QByteArray, content);
    const QString file = path(name);
    if (!content.isNull()) {
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(content);
    }
    Settings settings;
    settings.db_path = path(QStringLiteral("unused.db")).toStdString();
    MainWindow window(settings);
    QSignalSpy opened(&window, &MainWindow::captureOpened);
    QSignalSpy failed(&window, &MainWindow::captureFailed);
    window.openCapture(file);
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 20'000);
    QCOMPARE(opened.count(), 0);
    QVERIFY(!window.offline());
    const QString error = failed.at(0).at(1).toString();
    QVERIFY2(error.contains(name), qPrintable(error));
    // The file is left as it was.
    QCOMPARE(QFile::exists(file), !content.isNull());
    if (!content.isNull()) {
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), content);
    }
}

void TestUiCapture::commandLineOpen_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("stderrHas");
    QTest::addRow("missing") << QStringList{QStringLiteral("--open"), path(QStringLiteral("nope.fleetscope"))}
                             << 2 << QStringLiteral("nope.fleetscope");
    QTest::addRow("corrupt") << QStringList{QStringLiteral("--open"),
                                            path(QStringLiteral("garbage.fleetscope"))}
                             << 2 << QStringLiteral("garbage.fleetscope");
    QTest::addRow("two files") << QStringList{QStringLiteral("--open"), capture_, capture_} << 2
                               << QStringLiteral("at most one capture");
}

void TestUiCapture::commandLineOpen()
{
    QFETCH(QStringList, args);
    QFETCH(int, exitCode);
    QFETCH(QString, stderrHas);
    QFile garbage(path(QStringLiteral("garbage.fleetscope")));
    QVERIFY(garbage.open(QIODevice::WriteOnly));
    garbage.write(QByteArray(4096, 'x'));
    garbage.close();
    const QString bin = qEnvironmentVariable("FLEETSCOPE_BIN_DIR");
    const QString exe = bin + QStringLiteral("/fleetscope");
    if (bin.isEmpty() || !QFileInfo(exe).isExecutable())
        QSKIP("the fleetscope program is not built (FLEETSCOPE_BIN_DIR)");
    QProcess process;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), path(QStringLiteral("cli-config")));
    process.setProcessEnvironment(env);
    process.start(exe, args);
    QVERIFY(process.waitForStarted(10'000));
    if (!process.waitForFinished(30'000)) {
        process.kill();
        QFAIL("fleetscope did not exit");
    }
    QCOMPARE(process.exitStatus(), QProcess::NormalExit); // no crash
    const QString err = QString::fromLocal8Bit(process.readAllStandardError());
    QCOMPARE(process.exitCode(), exitCode);
    QVERIFY2(err.contains(stderrHas), qPrintable(err));
}

void TestUiCapture::recentFiles()
{
    QSettings prefs;
    RecentFiles recent(prefs);
    // The captures opened by the tests above are remembered, newest first.
    QVERIFY(recent.entries().contains(QFileInfo(capture_).absoluteFilePath()));
    recent.clear();
    for (int i = 0; i < 12; ++i) {
        const QString file = path(QStringLiteral("r%1.fleetscope").arg(i));
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        recent.add(file);
    }
    QCOMPARE(recent.entries().size(), RecentFiles::kMaxEntries);
    QCOMPARE(recent.entries().front(), path(QStringLiteral("r11.fleetscope")));
    recent.add(path(QStringLiteral("r5.fleetscope"))); // again: moves to the front, no duplicate
    QCOMPARE(recent.entries().front(), path(QStringLiteral("r5.fleetscope")));
    QCOMPARE(recent.entries().count(path(QStringLiteral("r5.fleetscope"))), 1);
    QVERIFY(QFile::remove(path(QStringLiteral("r7.fleetscope"))));
    QCOMPARE(recent.pruneMissing(), QStringList{path(QStringLiteral("r7.fleetscope"))});
    QCOMPARE(recent.entries().size(), RecentFiles::kMaxEntries - 1);
    QVERIFY(!recent.entries().contains(path(QStringLiteral("r7.fleetscope"))));
}

void TestUiCapture::captureOfAnEarlierBuildOpens()
{
    // The capture that FleetScope 0.1.0 wrote (kept as SQL text by the core's tests), rebuilt as a file.
    const QString fixture = QFINDTESTDATA("../integration/data/capture-format1.sql");
    QVERIFY(!fixture.isEmpty());
    QFile sql(fixture);
    QVERIFY(sql.open(QIODevice::ReadOnly));
    const QString file = path(QStringLiteral("format1.fleetscope"));
    sqlite3* db = nullptr;
    QCOMPARE(sqlite3_open(file.toUtf8().constData(), &db), SQLITE_OK);
    const int rc = sqlite3_exec(db, sql.readAll().constData(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
    QCOMPARE(rc, SQLITE_OK);

    Settings settings;
    settings.db_path = path(QStringLiteral("unused.db")).toStdString();
    MainWindow window(settings);
    QSignalSpy opened(&window, &MainWindow::captureOpened);
    QSignalSpy failed(&window, &MainWindow::captureFailed);
    window.openCapture(file);
    QTRY_VERIFY_WITH_TIMEOUT(opened.count() + failed.count() > 0, 20'000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.at(0).at(1).toString()));
    DeviceTableModel* model = window.deviceModel();
    QCOMPARE(model->rowCount(), 2);
    QCOMPARE(modelValue(model, QStringLiteral("pump-1"), QStringLiteral("temp_c")), 21.5);
    QCOMPARE(modelSamples(model, QStringLiteral("pump-1")), qulonglong{3});
}

QTEST_MAIN(TestUiCapture)
#include "test_ui_capture.moc"
