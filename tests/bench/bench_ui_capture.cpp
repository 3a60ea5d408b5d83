// SPDX-License-Identifier: GPL-3.0-or-later
// Reopening a large capture in the monitor: a database of N readings (default 1,000,000: 2,000 devices, two
// metrics, 250 samples each, one a second) is exported as a capture, then opened offline in a MainWindow as
// File → Open does (loaded on a pool thread with progress), and replayed. Reports the export and load times,
// how many progress reports the load gave, the rebuild after a jump back in time, and the frame time of a
// replay at 100×. Exit status 1 when a bar is missed: replay frame p99 >= 33 ms, or the load gave no
// progress.
//
//   QT_QPA_PLATFORM=offscreen build/dev/bin/bench_ui_capture [readings]
#include "core/store/capture.hpp"
#include "core/store/store.hpp"
#include "ui/capture/capture_replay.hpp"
#include "ui/main_window/main_window.hpp"

#include <QApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cstdio>
#include <future>
#include <string>
#include <vector>

using namespace fleetscope;
using namespace fleetscope::ui;

namespace {

constexpr double kFrameBarMs = 33;
constexpr int kDevices = 2000;

double p99(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[static_cast<std::size_t>(0.99 * static_cast<double>(v.size() - 1))];
}

bool fill(const std::string& path, std::uint64_t readings)
{
    const auto opened = store::open_store(store::Options{.path = path});
    store::Writer& store = opened->writer();
    const std::uint64_t samples = readings / 2;
    const std::int64_t t0 =
        QDateTime::currentMSecsSinceEpoch() - static_cast<std::int64_t>(samples / kDevices) * 1000;
    std::vector<telemetry::Sample> batch;
    for (std::uint64_t i = 0; i < samples; ++i) {
        const auto device = static_cast<int>(i % kDevices);
        const auto step = static_cast<std::int64_t>(i / kDevices);
        batch.push_back(
            {"dev-" + std::to_string(device),
             t0 + step * 1000 + device % 1000,
             {{"temp_c", 20.0 + static_cast<double>(i % 97) / 10.0}, {"rssi", -50.0 - device % 40}}});
        if (batch.size() == 10'000 || i + 1 == samples) {
            std::promise<store::CommitStatus> done;
            auto committed = done.get_future();
            if (!store.submit(std::move(batch), [&done](store::CommitStatus s) { done.set_value(s); }))
                return false;
            if (committed.get() != store::CommitStatus::committed)
                return false;
            batch.clear();
        }
    }
    store.stop();
    return true;
}

} // namespace

int main(int argc, char* argv[])
{
    QApplication app(argc, argv);
    const std::uint64_t readings = argc > 1 ? std::stoull(argv[1]) : 1'000'000;
    QTemporaryDir dir;
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, dir.path());
    const std::string db = dir.filePath(QStringLiteral("big.db")).toStdString();
    const QString capture = dir.filePath(QStringLiteral("big.fleetscope"));

    QElapsedTimer clock;
    clock.start();
    if (!fill(db, readings)) {
        std::fprintf(stderr, "bench_ui_capture: could not write the database\n");
        return 2;
    }
    std::printf("database: %llu readings of %d devices written in %.1f s\n",
                static_cast<unsigned long long>(readings), kDevices, clock.nsecsElapsed() / 1e9);

    clock.restart();
    std::uint64_t exportReports = 0;
    const store::ExportResult exported =
        store::export_data(db, {}, store::ExportFormat::capture, capture.toStdString(),
                           [&exportReports](std::uint64_t, std::uint64_t) { return ++exportReports > 0; });
    if (!exported.ok()) {
        std::fprintf(stderr, "bench_ui_capture: export failed: %s\n", exported.error.c_str());
        return 2;
    }
    std::printf("export: %llu readings in %.2f s, %llu progress reports\n",
                static_cast<unsigned long long>(exported.samples), clock.nsecsElapsed() / 1e9,
                static_cast<unsigned long long>(exportReports));

    clock.restart();
    std::uint64_t loadReports = 0;
    const ReplayLoad load = loadReplayData(capture, [&loadReports](std::uint64_t, std::uint64_t) {
        ++loadReports;
        return true;
    });
    if (!load.data) {
        std::fprintf(stderr, "bench_ui_capture: load failed: %s\n", qPrintable(load.error));
        return 2;
    }
    std::printf("load (reader thread): %zu readings in %.2f s, %llu progress reports\n",
                load.data->readings.size(), clock.nsecsElapsed() / 1e9,
                static_cast<unsigned long long>(loadReports));

    Settings settings;
    settings.db_path = dir.filePath(QStringLiteral("unused.db")).toStdString();
    MainWindow window(settings);
    window.resize(1500, 940);
    QSignalSpy opened(&window, &MainWindow::captureOpened);
    QSignalSpy failed(&window, &MainWindow::captureFailed);
    clock.restart();
    window.openCapture(capture);
    if (!QTest::qWaitFor([&] { return opened.count() + failed.count() > 0; }, 300'000) ||
        failed.count() > 0) {
        std::fprintf(stderr, "bench_ui_capture: open failed\n");
        return 2;
    }
    std::printf("open in the window (load + first frame): %.2f s\n", clock.nsecsElapsed() / 1e9);
    window.show();
    QTest::qWait(200);

    CaptureReplay* replay = window.replay();
    replay->stop(); // stepped by hand below, so each step is timed alone
    replay->seek(replay->beginMs() + (replay->endMs() - replay->beginMs()) / 2);
    clock.restart();
    replay->step(0);
    QApplication::processEvents();
    std::printf("jump back to the middle (views rebuilt): %.1f ms\n", clock.nsecsElapsed() / 1e6);

    replay->setSpeed(100);
    replay->setPlaying(true);
    std::vector<double> frames;
    for (int i = 0; i < 150 && replay->playing(); ++i) {
        clock.restart();
        replay->step(33);
        QApplication::processEvents(); // the repaint the frame caused
        frames.push_back(clock.nsecsElapsed() / 1e6);
    }
    const double frameP99 = p99(frames);
    std::printf("replay at 100x: %zu frames of 3.3 s of capture each, p99 %.1f ms, max %.1f ms\n",
                frames.size(), frameP99,
                frames.empty() ? 0 : *std::max_element(frames.begin(), frames.end()));

    const bool ok = frameP99 < kFrameBarMs && loadReports > 1;
    std::printf("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
