// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QObject>
#include <QString>

class QLabel;
class QToolBar;

namespace fleetscope::ui {

class CaptureReplay;
class MainWindow;
class ReplayBar;
class StatusPanel;
struct Frame;
struct ReplayLoad;

/// Turns its window into the offline review of a capture: loads it on a worker thread behind a progress
/// dialog that cancels, then idles the live feed and drives the same views from a CaptureReplay, with a
/// banner saying what is shown and a replay bar. GUI thread only; a child of the window. The loader thread
/// shares only the atomics of its progress and cancel flag, and reports through a QFutureWatcher.
class CaptureReview : public QObject {
    Q_OBJECT
public:
    CaptureReview(MainWindow* window, StatusPanel* status);

    /// Loads `path`; opened or failed follows. A window already reviewing shows the new capture in its place.
    void open(const QString& path);
    bool active() const { return replay_ != nullptr; }
    bool loading() const { return loading_; }
    QString path() const { return path_; }
    CaptureReplay* replay() const { return replay_; }
    ReplayBar* bar() const { return bar_; }

signals:
    void opened(const QString& path);
    void failed(const QString& path, const QString& error);
    /// The replay's frames, for the views (the window routes them as it routes the live feed's).
    void frameReady(const fleetscope::ui::Frame& frame);

private:
    void loaded(const ReplayLoad& load, const QString& path);
    void becomeReview();

    MainWindow* window_;
    StatusPanel* status_;
    CaptureReplay* replay_ = nullptr;
    ReplayBar* bar_ = nullptr;
    QToolBar* banner_ = nullptr;
    QLabel* banner_label_ = nullptr;
    QString path_;
    bool loading_ = false;
};

} // namespace fleetscope::ui
