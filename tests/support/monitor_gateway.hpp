// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/util/result.hpp"
#include "ui/main_window/main_window.hpp"

#include <QSignalSpy>
#include <QString>
#include <QTest>

namespace fleetscope::testing {

/// Starts the monitor's embedded gateway and waits for it, 20 s at most: the port it listens on, or why it
/// did not start. GUI thread (the test's).
inline util::Result<quint16> start_monitor_gateway(ui::MainWindow& window)
{
    QSignalSpy started(&window, &ui::MainWindow::gatewayStarted);
    QSignalSpy failed(&window, &ui::MainWindow::gatewayFailed);
    window.startGateway();
    if (!QTest::qWaitFor([&] { return started.count() == 1 || failed.count() == 1; }, 20'000))
        return util::fail("the gateway neither started nor failed within 20 s");
    if (failed.count() == 1)
        return util::fail("gateway did not start: " + failed.at(0).at(0).toString().toStdString());
    const QString listening = started.at(0).at(0).toString();
    const quint16 port = listening.section(QLatin1Char(':'), -1).toUShort();
    if (port == 0)
        return util::fail("the gateway listens on no port: " + listening.toStdString());
    return port;
}

} // namespace fleetscope::testing
