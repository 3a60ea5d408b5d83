// SPDX-License-Identifier: GPL-3.0-or-later
// The monitor with the gateway embedded: settings from QSettings, overridden by --listen/--db for this run;
// or, with --open FILE (or FILE alone), the offline review of a session capture.
#include "core/settings.hpp"
#include "ui/dialogs/settings_io.hpp"
#include "ui/main_window/main_window.hpp"
#include "ui/theme/theme.hpp"

#include <QApplication>
#include <QCommandLineParser>
#include <QMessageBox>
#include <QSettings>

#include <cstdio>

int main(int argc, char* argv[])
{
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
        std::fprintf(stderr,
                     "fleetscope: expected at most one capture to open (--open FILE or FILE), got %lld\n",
                     static_cast<long long>(positional.size() + (parser.isSet(open) ? 1 : 0)));
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
        std::fprintf(stderr, "fleetscope: %s\n", problem.c_str());
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
        std::fprintf(stderr, "fleetscope: --page %s: expected overview, devices, device or alerts\n",
                     qPrintable(parser.value(page)));
        return 2;
    }
    if (parser.isSet(device))
        window.showDevice(parser.value(device));
    if (!capture.isEmpty()) {
        // Shown once loaded, so a file that cannot be opened exits with a message and no empty window.
        QObject::connect(&window, &fleetscope::ui::MainWindow::captureOpened, &window, &QWidget::show);
        QObject::connect(
            &window, &fleetscope::ui::MainWindow::captureFailed, &window,
            [viaDesktop = !parser.isSet(open)](const QString& path, const QString& error) {
                std::fprintf(stderr, "fleetscope: cannot open %s: %s\n", qPrintable(path), qPrintable(error));
                if (viaDesktop)
                    QMessageBox::critical(nullptr, QStringLiteral("FleetScope"),
                                          QStringLiteral("Cannot open %1:\n%2").arg(path, error));
                QCoreApplication::exit(2);
            });
        window.openCapture(capture);
        return QApplication::exec();
    }
    window.show();
    if (!parser.isSet(noStart))
        window.startGateway();
    return QApplication::exec();
}
