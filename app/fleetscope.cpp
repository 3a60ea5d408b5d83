// SPDX-License-Identifier: GPL-3.0-or-later
// The monitor with the gateway embedded: settings from QSettings, overridden by --listen/--db for this run;
// or, with --open FILE (or FILE alone), the offline review of a session capture. SIGTERM, SIGINT and SIGHUP
// (and on Windows console close and the session's end) quit it cleanly: the gateway drains and commits, the
// session is recorded as stopped, and it exits 0 (quit_signals.hpp).
#include "core/log.hpp"
#include "core/settings.hpp"
#include "quit_signals.hpp"
#include "ui/dialogs/settings_io.hpp"
#include "ui/main_window/main_window.hpp"
#include "ui/theme/theme.hpp"

#include <QApplication>
#include <QCommandLineParser>
#include <QFileOpenEvent>
#include <QMessageBox>
#include <QSessionManager>
#include <QSettings>

#include <string>

namespace {

namespace log = fleetscope::log;

/// macOS hands a document opened from Finder (a .fleetscope capture, Info.plist) to the running application
/// as a QFileOpenEvent rather than as an argument. GUI thread.
class FileOpenFilter : public QObject {
public:
    explicit FileOpenFilter(fleetscope::ui::MainWindow& window)
        : window_(window)
    {}

    bool eventFilter(QObject* watched, QEvent* event) override
    {
        if (event->type() != QEvent::FileOpen)
            return QObject::eventFilter(watched, event);
        window_.reviewCapture(static_cast<QFileOpenEvent*>(event)->file());
        return true;
    }

private:
    fleetscope::ui::MainWindow& window_;
};

} // namespace

int main(int argc, char* argv[])
{
    log::set_program("fleetscope");
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("FleetScope"));
    QApplication::setApplicationName(QStringLiteral("fleetscope"));
    QApplication::setApplicationDisplayName(QStringLiteral("FleetScope"));
    QApplication::setApplicationVersion(QStringLiteral(FLEETSCOPE_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("FleetScope: a fleet monitor with an embedded telemetry gateway"));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption listen(QStringLiteral("listen"),
                                    QStringLiteral("HOST:PORT to accept devices on."),
                                    QStringLiteral("HOST:PORT"));
    const QCommandLineOption db(QStringLiteral("db"), QStringLiteral("SQLite database file."),
                                QStringLiteral("PATH"));
    const QCommandLineOption open(QStringLiteral("open"), QStringLiteral("Review a session capture offline."),
                                  QStringLiteral("FILE"));
    const QCommandLineOption noStart(QStringLiteral("no-start"),
                                     QStringLiteral("Do not start the gateway at launch."));
    const QCommandLineOption theme(QStringLiteral("theme"), QStringLiteral("dark or light (remembered)."),
                                   QStringLiteral("NAME"));
    const QCommandLineOption page(QStringLiteral("page"),
                                  QStringLiteral("Page to show: overview, devices, device or alerts."),
                                  QStringLiteral("NAME"));
    const QCommandLineOption device(QStringLiteral("device"),
                                    QStringLiteral("Open this device's detail page."), QStringLiteral("ID"));
    parser.addOptions({listen, db, open, noStart, theme, page, device});
    parser.addPositionalArgument(QStringLiteral("FILE"),
                                 QStringLiteral("A session capture to review offline (as --open FILE)."),
                                 QStringLiteral("[FILE]"));
    parser.process(app);

    // The desktop entry passes a capture positionally; a terminal user types --open. Either way the window
    // reviews that capture offline and no gateway starts.
    const QStringList positional = parser.positionalArguments();
    if (positional.size() > 1 || (parser.isSet(open) && !positional.isEmpty())) {
        log::error("expected at most one capture to open (--open FILE or FILE), got " +
                   std::to_string(positional.size() + (parser.isSet(open) ? 1 : 0)));
        return 2;
    }
    const QString capture = parser.isSet(open) ? parser.value(open) : positional.value(0);

    QSettings prefs;
    fleetscope::Settings settings = fleetscope::ui::loadSettings(prefs);
    if (parser.isSet(listen))
        settings.listen = parser.value(listen).toStdString();
    if (parser.isSet(db))
        settings.db_path = parser.value(db).toStdString();
    if (const std::string problem = fleetscope::validate(settings); !problem.empty()) {
        log::error(problem);
        return 2;
    }

    QString themeName = prefs.value(QStringLiteral("ui/theme"), QStringLiteral("dark")).toString();
    if (parser.isSet(theme)) {
        themeName = parser.value(theme);
        prefs.setValue(QStringLiteral("ui/theme"), themeName);
    }
    fleetscope::ui::Theme::instance().apply(fleetscope::ui::Theme::fromName(themeName));

    fleetscope::ui::MainWindow window(settings);
    if (parser.isSet(page) && !window.showPage(parser.value(page))) {
        log::error("--page " + parser.value(page).toStdString() +
                   ": expected overview, devices, device or alerts");
        return 2;
    }
    if (parser.isSet(device))
        window.showDevice(parser.value(device));

    FileOpenFilter fileOpen(window);
    app.installEventFilter(&fileOpen);

    fleetscope::app::QuitSignals quitSignals([&window] { window.stopGatewayAndWait(); });
    QObject::connect(&quitSignals, &fleetscope::app::QuitSignals::quitRequested, &app,
                     [](const QString& why) {
                         log::info(why.toStdString() +
                                   ": quitting; the gateway finishes the requests in flight and commits");
                         QCoreApplication::quit();
                     });
    // The session manager asks for unsaved work before the session ends. The gateway has none: a sample is
    // acknowledged only once committed. It stops when the session really ends, on aboutToQuit.
    QObject::connect(
        &app, &QGuiApplication::commitDataRequest, &app,
        [](QSessionManager&) { log::info("the session is ending; every acknowledged sample is committed"); },
        Qt::DirectConnection);
    // The gateway's log lines, as the headless gateway writes them; a test waits for the first.
    QObject::connect(
        &window, &fleetscope::ui::MainWindow::gatewayStarted, &app,
        [](const QString& listening) { log::info("gateway listening on " + listening.toStdString()); });
    QObject::connect(&window, &fleetscope::ui::MainWindow::gatewayFailed, &app, [](const QString& error) {
        log::error("the gateway did not start: " + error.toStdString());
    });
    QObject::connect(&window, &fleetscope::ui::MainWindow::gatewayStopped, &app,
                     [] { log::info("gateway stopped"); });
    int code = 0;
    if (!capture.isEmpty()) {
        // Shown once loaded, so a file that cannot be opened exits with a message and no empty window.
        QObject::connect(&window, &fleetscope::ui::MainWindow::captureOpened, &window, &QWidget::show);
        QObject::connect(&window, &fleetscope::ui::MainWindow::captureFailed, &window,
                         [viaDesktop = !parser.isSet(open)](const QString& path, const QString& error) {
                             log::error("cannot open " + path.toStdString() + ": " + error.toStdString());
                             if (viaDesktop)
                                 QMessageBox::critical(
                                     nullptr, QStringLiteral("FleetScope"),
                                     QStringLiteral("Cannot open %1:\n%2").arg(path, error));
                             QCoreApplication::exit(2);
                         });
        window.openCapture(capture);
        code = QApplication::exec();
    } else {
        window.show();
        if (!parser.isSet(noStart))
            window.startGateway();
        code = QApplication::exec();
    }
    quitSignals.finished();
    return code;
}
