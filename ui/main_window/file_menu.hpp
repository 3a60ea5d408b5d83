// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QObject>

class QAction;
class QMenu;

namespace fleetscope::ui {

class ExportJob;
class GatewayController;
class MainWindow;
class WindowActions;
struct ExportRequest;

/// The File menu and the work behind it: open a capture (in a window of its own when this one is live),
/// the recent captures, export of data (an ExportJob behind a progress dialog) and of the window, and marked
/// spans of the running session. GUI thread only; a child of the window. Export and capture reads run on
/// pool threads and report back through QFutureWatchers; marks reach the gateway through the
/// GatewayController's queued requests.
class FileMenu : public QObject {
    Q_OBJECT
public:
    FileMenu(MainWindow* window, GatewayController* controller, WindowActions* actions);

    /// Runs an export off the GUI thread behind a progress dialog whose Cancel stops it. The job belongs to
    /// the window and deletes itself once it has reported; null when it could not start.
    ExportJob* startExport(const ExportRequest& request);
    /// Marking needs a running gateway that is not starting or stopping.
    void setGatewayState(bool running, bool busy);
    /// Reviews the capture in the window when it is offline, else in a window of its own.
    void openCapture(const QString& path);

signals:
    void markRecorded(const QString& label, const QString& error);

private:
    void fillRecent();
    void openCaptureInteractive();
    void exportDataInteractive();
    void exportWindowInteractive();
    void toggleMark(bool recording);

    MainWindow* window_;
    WindowActions* actions_;
    QMenu* recent_ = nullptr;
    QAction* mark_ = nullptr;
    qint64 mark_from_ms_ = 0;
};

} // namespace fleetscope::ui
