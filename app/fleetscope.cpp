// SPDX-License-Identifier: GPL-3.0-or-later
// The monitor with the gateway embedded: settings from QSettings, overridden by --listen/--db/--store for
// this run; or, with --open FILE (or FILE alone), the offline review of a session capture; or, with --attach
// URL (repeatable), the monitor of remote headless gateways through their GET /v1/stream, embedding none.
// SIGTERM, SIGINT and SIGHUP (and on Windows console close and the session's end) quit it cleanly: the
// gateway drains and commits, the session is recorded as stopped, and it exits 0 (quit_signals.hpp).
#include "core/log.hpp"
#include "core/settings.hpp"
#include "quit_signals.hpp"
#include "ui/dialogs/settings_io.hpp"
#include "ui/feed/remote/attach_settings.hpp"
#include "ui/main_window/main_window.hpp"
#include "ui/theme/theme.hpp"

#include <QApplication>
#include <QCommandLineParser>
#include <QFile>
#include <QFileOpenEvent>
#include <QMessageBox>
#include <QSessionManager>
#include <QSettings>
#include <QUrl>

#include <string>
#include <utility>
#include <vector>

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
    const QCommandLineOption store(
        QStringLiteral("store"),
        QStringLiteral("Where samples are stored (sqlite:PATH or postgresql://...); with "
                       "--attach, the store the gateways share, read for history and "
                       "exports."),
        QStringLiteral("URI"));
    const QCommandLineOption attach(
        QStringLiteral("attach"),
        QStringLiteral("Watch the headless gateway at URL (e.g. http://gw-a:8080) through its GET /v1/stream "
                       "instead of embedding one; repeat for several."),
        QStringLiteral("URL"));
    const QCommandLineOption attachToken(
        QStringLiteral("attach-token-file"),
        QStringLiteral(
            "File whose first line is the operator token (fleetscope-gateway operator add) sent to "
            "the attached gateways."),
        QStringLiteral("FILE"));
    parser.addOptions({listen, db, store, open, noStart, theme, page, device, attach, attachToken});
    fleetscope::ui::AttachSettings attachSettings;
    std::vector<std::pair<QCommandLineOption, fleetscope::Millis*>> attachTunables;
    fleetscope::ui::for_each_attach_setting(
        attachSettings, [&](const fleetscope::SettingInfo& info, fleetscope::Millis& field) {
            const QCommandLineOption option(
                QString::fromUtf8(info.name.data(), static_cast<qsizetype>(info.name.size())),
                QStringLiteral("%1 (ms; default %2).")
                    .arg(QString::fromUtf8(info.help.data(), static_cast<qsizetype>(info.help.size())))
                    .arg(field.count()),
                QStringLiteral("MS"));
            parser.addOption(option);
            attachTunables.emplace_back(option, &field);
        });
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
    if (parser.isSet(store))
        settings.store = parser.value(store).toStdString();
    if (auto valid = fleetscope::validate(settings); !valid) {
        log::error(valid.error());
        return 2;
    }

    QByteArray attachTokenValue;
    if (parser.isSet(attach)) {
        if (!capture.isEmpty()) {
            log::error("--attach watches live gateways; it does not go with a capture to review (--open)");
            return 2;
        }
        attachSettings.urls = parser.values(attach);
        for (const QString& url : attachSettings.urls) {
            const QUrl parsed(url, QUrl::StrictMode);
            if (!parsed.isValid() ||
                (parsed.scheme() != QLatin1String("http") && parsed.scheme() != QLatin1String("https")) ||
                parsed.host().isEmpty()) {
                log::error("--attach " + url.toStdString() +
                           ": expected a gateway's base URL, http://HOST:PORT");
                return 2;
            }
        }
        for (const auto& [option, field] : attachTunables) {
            if (!parser.isSet(option))
                continue;
            bool ok = false;
            const qlonglong ms = parser.value(option).toLongLong(&ok);
            if (!ok || ms < 0) {
                log::error("--" + option.names().front().toStdString() + " " +
                           parser.value(option).toStdString() + ": expected a whole number of milliseconds");
                return 2;
            }
            *field = fleetscope::Millis(ms);
        }
        if (auto valid = fleetscope::ui::validate(attachSettings); !valid) {
            log::error(valid.error());
            return 2;
        }
        if (parser.isSet(attachToken)) {
            QFile file(parser.value(attachToken));
            if (!file.open(QIODevice::ReadOnly)) {
                log::error("--attach-token-file " + file.fileName().toStdString() + ": " +
                           file.errorString().toStdString());
                return 2;
            }
            attachTokenValue = file.readLine().trimmed();
            if (attachTokenValue.isEmpty()) {
                log::error("--attach-token-file " + file.fileName().toStdString() +
                           ": expected the operator token on its first line");
                return 2;
            }
        }
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
    QObject::connect(&window, &fleetscope::ui::MainWindow::attachedGatewayChanged, &app,
                     [](const QString& state) { log::info(state.toStdString()); });
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
        if (parser.isSet(attach)) {
            window.attachGateways(attachSettings, attachTokenValue,
                                  parser.isSet(store) ? parser.value(store) : QString());
            log::info("attached to " + attachSettings.urls.join(QStringLiteral(", ")).toStdString());
        } else if (!parser.isSet(noStart))
            window.startGateway();
        code = QApplication::exec();
    }
    quitSignals.finished();
    return code;
}
