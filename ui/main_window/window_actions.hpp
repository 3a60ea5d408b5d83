// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QList>
#include <QObject>

#include <functional>

class QAction;
class QComboBox;
class QKeySequence;
class QMainWindow;

namespace fleetscope::ui {

class Dashboard;
class TimeWindow;

/// The window's actions with a shortcut, the main toolbar with its window-length picker, the keyboard help
/// that lists every shortcut, and the export of a plot or a page. GUI thread only; a child of the window
/// whose actions it adds, reaching the rest of the window only through the signals below.
class WindowActions : public QObject {
    Q_OBJECT
public:
    WindowActions(QMainWindow* window, TimeWindow* timeWindow, Dashboard* dashboard);

    /// Adds an action with a shortcut to the window, listed in the keyboard help in the order added.
    QAction* add(const QString& text, const QKeySequence& key, const QString& tip = {});
    /// Lists an action made elsewhere (a menu's) in the keyboard help.
    void list(QAction* action) { shortcuts_.push_back(action); }
    QList<QAction*> shortcutActions() const { return shortcuts_; }

    QAction* exportPlotAction() const { return export_plot_; }
    QAction* exportViewAction() const { return export_view_; }

    /// Labels and enables what depends on the gateway: the start/stop action and the settings.
    void setGatewayState(bool running, bool busy, bool offline);

    /// Asks where to save a PNG or PDF (suggesting `suggestedName`), then `write`s it: a returned error goes
    /// to a message box, a success to the status bar.
    void exportInteractive(const QString& title, const QString& suggestedName,
                           const std::function<QString(const QString& path)>& write);

signals:
    void startStopTriggered();
    void settingsTriggered();

private:
    void buildToolBar();
    void applyThemeIcons();
    void syncWindow();
    void stepWindow(int direction);
    void showShortcuts();
    void exportPlotInteractive();
    void exportViewInteractive();

    QMainWindow* window_;
    TimeWindow* time_window_;
    Dashboard* dashboard_;
    QList<QAction*> shortcuts_;
    QAction* start_stop_ = nullptr;
    QAction* pause_ = nullptr;
    QAction* reset_ = nullptr;
    QAction* export_plot_ = nullptr;
    QAction* export_view_ = nullptr;
    QAction* settings_ = nullptr;
    QAction* theme_ = nullptr;
    QAction* help_ = nullptr;
    QComboBox* window_combo_ = nullptr;
    bool running_ = false;
};

} // namespace fleetscope::ui
