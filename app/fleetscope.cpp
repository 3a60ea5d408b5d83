// SPDX-License-Identifier: GPL-3.0-or-later
// The monitor with the gateway embedded: settings from QSettings, overridden by --listen/--db for this run.
#include "core/settings.hpp"
#include "ui/main_window.hpp"
#include "ui/settings_io.hpp"
#include "ui/theme.hpp"

#include <QApplication>
#include <QCommandLineParser>
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
    parser.process(app);

    if (parser.isSet(open)) {
        std::fprintf(stderr, "fleetscope: --open %s: opening session captures is not yet supported\n",
                     qPrintable(parser.value(open)));
        return 2;
    }

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
    window.show();
    if (!parser.isSet(noStart))
        window.startGateway();
    return QApplication::exec();
}
