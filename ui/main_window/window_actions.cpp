// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/main_window/window_actions.hpp"

#include "ui/pages/dashboard.hpp"
#include "ui/pages/devices_page.hpp"
#include "ui/plots/live_plot.hpp"
#include "ui/plots/time_window.hpp"
#include "ui/theme/icons.hpp"
#include "ui/theme/theme.hpp"

#include <QAction>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QHeaderView>
#include <QLabel>
#include <QMainWindow>
#include <QMessageBox>
#include <QSettings>
#include <QStatusBar>
#include <QTableWidget>
#include <QToolBar>
#include <QVBoxLayout>

#include <algorithm>

namespace fleetscope::ui {

namespace {

struct WindowOption {
    const char* label;
    double seconds;
};

constexpr WindowOption kWindows[] = {
    {"1 min", 60}, {"5 min", 300}, {"15 min", 900}, {"1 h", 3600}, {"6 h", 6 * 3600}, {"24 h", 24 * 3600},
};

} // namespace

WindowActions::WindowActions(QMainWindow* window, TimeWindow* timeWindow, Dashboard* dashboard)
    : QObject(window)
    , window_(window)
    , time_window_(timeWindow)
    , dashboard_(dashboard)
{
    start_stop_ = add(tr("Start gateway"), QKeySequence(Qt::CTRL | Qt::Key_G),
                      tr("Start or stop the embedded gateway"));
    connect(start_stop_, &QAction::triggered, this, &WindowActions::startStopTriggered);

    pause_ = add(tr("Pause"), QKeySequence(Qt::Key_Space), tr("Freeze the plots; data keeps arriving"));
    pause_->setCheckable(true);
    connect(pause_, &QAction::toggled, time_window_, &TimeWindow::setPaused);

    reset_ = add(tr("Reset view"), QKeySequence(Qt::CTRL | Qt::Key_0),
                 tr("Follow the live window again after zooming or panning"));
    connect(reset_, &QAction::triggered, time_window_, &TimeWindow::resetRequested);

    auto* shorter = add(tr("Shorter window"), QKeySequence(Qt::CTRL | Qt::Key_Minus));
    connect(shorter, &QAction::triggered, this, [this] { stepWindow(-1); });
    auto* longer = add(tr("Longer window"), QKeySequence(Qt::CTRL | Qt::Key_Equal));
    connect(longer, &QAction::triggered, this, [this] { stepWindow(+1); });

    export_plot_ = add(tr("Export plot…"), QKeySequence(Qt::CTRL | Qt::Key_E),
                       tr("Export the plot last hovered as PNG or PDF"));
    connect(export_plot_, &QAction::triggered, this, &WindowActions::exportPlotInteractive);
    export_view_ = add(tr("Export view…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E),
                       tr("Export the whole page as PNG or PDF"));
    connect(export_view_, &QAction::triggered, this, &WindowActions::exportViewInteractive);

    settings_ = add(tr("Settings…"), QKeySequence(Qt::CTRL | Qt::Key_Comma), tr("Gateway settings"));
    connect(settings_, &QAction::triggered, this, &WindowActions::settingsTriggered);
    theme_ = add(tr("Toggle theme"), QKeySequence(Qt::CTRL | Qt::Key_T),
                 tr("Switch between the dark and the light theme"));
    connect(theme_, &QAction::triggered, this, [] {
        const ThemeKind next =
            Theme::instance().kind() == ThemeKind::Dark ? ThemeKind::Light : ThemeKind::Dark;
        Theme::instance().apply(next);
        QSettings().setValue(QStringLiteral("ui/theme"), Theme::name(next));
    });

    auto* find = add(tr("Find device"), QKeySequence(Qt::CTRL | Qt::Key_F));
    connect(find, &QAction::triggered, this, [this] {
        dashboard_->setCurrentWidget(dashboard_->devicesPage());
        dashboard_->devicesPage()->focusFilter();
    });
    const QString pageNames[] = {tr("Overview"), tr("Devices"), tr("Device detail")};
    for (int i = 0; i < 3; ++i) {
        auto* page = add(tr("Show %1").arg(pageNames[i]), QKeySequence(Qt::CTRL | (Qt::Key_1 + i)));
        connect(page, &QAction::triggered, this, [this, i] { dashboard_->setCurrentIndex(i); });
    }
    help_ = add(tr("Keyboard shortcuts"), QKeySequence(Qt::Key_F1));
    connect(help_, &QAction::triggered, this, &WindowActions::showShortcuts);
    auto* quit = add(tr("Quit"), QKeySequence(Qt::CTRL | Qt::Key_Q));
    connect(quit, &QAction::triggered, window_, &QWidget::close);

    buildToolBar();
    connect(&Theme::instance(), &Theme::changed, this, &WindowActions::applyThemeIcons);
    connect(time_window_, &TimeWindow::changed, this, [this] {
        syncWindow();
        QSettings().setValue(QStringLiteral("ui/window"), time_window_->seconds());
    });
    applyThemeIcons();
}

QAction* WindowActions::add(const QString& text, const QKeySequence& key, const QString& tip)
{
    auto* action = new QAction(text, window_);
    action->setShortcut(key);
    action->setToolTip(
        QStringLiteral("%1 (%2)").arg(tip.isEmpty() ? text : tip, key.toString(QKeySequence::NativeText)));
    window_->addAction(action);
    shortcuts_.push_back(action);
    return action;
}

void WindowActions::buildToolBar()
{
    auto* bar = window_->addToolBar(tr("Main"));
    bar->setObjectName(QStringLiteral("mainToolBar"));
    bar->setMovable(false);
    bar->setIconSize(QSize(20, 20));
    bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    bar->addAction(start_stop_);
    bar->addSeparator();
    auto* windowLabel = new QLabel(tr("  Window "), bar);
    windowLabel->setObjectName(QStringLiteral("mutedLabel"));
    bar->addWidget(windowLabel);
    window_combo_ = new QComboBox(bar);
    window_combo_->setObjectName(QStringLiteral("windowCombo"));
    window_combo_->setToolTip(tr("Rolling window of every live plot"));
    for (const WindowOption& w : kWindows)
        window_combo_->addItem(QString::fromLatin1(w.label), w.seconds);
    syncWindow();
    connect(window_combo_, &QComboBox::currentIndexChanged, this,
            [this](int i) { time_window_->setSeconds(window_combo_->itemData(i).toDouble()); });
    bar->addWidget(window_combo_);
    bar->addAction(pause_);
    bar->addAction(reset_);
    bar->addSeparator();
    bar->addAction(export_plot_);
    bar->addAction(export_view_);
    auto* spacer = new QWidget(bar);
    spacer->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    bar->addWidget(spacer);
    bar->addAction(settings_);
    bar->addAction(theme_);
    bar->addAction(help_);
}

void WindowActions::syncWindow()
{
    pause_->setChecked(time_window_->paused());
    pause_->setText(time_window_->paused() ? tr("Resume") : tr("Pause"));
    for (int i = 0; i < window_combo_->count(); ++i)
        if (window_combo_->itemData(i).toDouble() == time_window_->seconds())
            window_combo_->setCurrentIndex(i);
}

void WindowActions::applyThemeIcons()
{
    const QColor color = Theme::instance().colors().text;
    start_stop_->setIcon(makeIcon(running_ ? IconKind::Stop : IconKind::Start, color));
    pause_->setIcon(makeIcon(IconKind::Pause, color));
    reset_->setIcon(makeIcon(IconKind::ResetView, color));
    export_plot_->setIcon(makeIcon(IconKind::ExportPlot, color));
    export_view_->setIcon(makeIcon(IconKind::ExportView, color));
    settings_->setIcon(makeIcon(IconKind::Settings, color));
    theme_->setIcon(makeIcon(IconKind::Theme, color));
    help_->setIcon(makeIcon(IconKind::Help, color));
}

void WindowActions::setGatewayState(bool running, bool busy, bool offline)
{
    running_ = running;
    start_stop_->setEnabled(!busy && !offline);
    settings_->setEnabled(!offline);
    start_stop_->setText(running ? tr("Stop gateway") : tr("Start gateway"));
    start_stop_->setIcon(
        makeIcon(running ? IconKind::Stop : IconKind::Start, Theme::instance().colors().text));
}

void WindowActions::stepWindow(int direction)
{
    const int count = static_cast<int>(std::size(kWindows));
    int current = 0;
    for (int i = 0; i < count; ++i)
        if (kWindows[i].seconds <= time_window_->seconds())
            current = i;
    time_window_->setSeconds(kWindows[std::clamp(current + direction, 0, count - 1)].seconds);
}

void WindowActions::showShortcuts()
{
    QDialog dialog(window_);
    dialog.setWindowTitle(tr("Keyboard shortcuts"));
    auto* table = new QTableWidget(static_cast<int>(shortcuts_.size()), 2, &dialog);
    table->setHorizontalHeaderLabels({tr("Action"), tr("Shortcut")});
    table->verticalHeader()->setVisible(false);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setSelectionMode(QAbstractItemView::NoSelection);
    table->setShowGrid(false);
    for (int i = 0; i < shortcuts_.size(); ++i) {
        QAction* a = shortcuts_[i];
        QString text = a->text();
        text.remove(QLatin1Char('&'));
        if (a == start_stop_)
            text = tr("Start / stop gateway");
        else if (a == pause_)
            text = tr("Pause / resume plots");
        table->setItem(i, 0, new QTableWidgetItem(text));
        table->setItem(i, 1, new QTableWidgetItem(a->shortcut().toString(QKeySequence::NativeText)));
    }
    table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    table->horizontalHeader()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    auto* hint =
        new QLabel(tr("In a plot: drag to pan, wheel to zoom time, double-click to follow live again, "
                      "right-click to export. The crosshair shows the exact values of the nearest "
                      "points."),
                   &dialog);
    hint->setWordWrap(true);
    hint->setObjectName(QStringLiteral("mutedLabel"));
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, &dialog);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    auto* layout = new QVBoxLayout(&dialog);
    layout->addWidget(table);
    layout->addWidget(hint);
    layout->addWidget(buttons);
    dialog.resize(460, 560);
    dialog.exec();
}

void WindowActions::exportInteractive(const QString& title, const QString& suggestedName,
                                      const std::function<QString(const QString& path)>& write)
{
    const QString path = QFileDialog::getSaveFileName(window_, title, suggestedName,
                                                      tr("PNG image (*.png);;PDF document (*.pdf)"));
    if (path.isEmpty())
        return;
    if (const QString error = write(path); !error.isEmpty())
        QMessageBox::warning(window_, title, error);
    else
        window_->statusBar()->showMessage(tr("Wrote %1").arg(path), 5000);
}

void WindowActions::exportPlotInteractive()
{
    LivePlot* plot = LivePlot::lastActive();
    if (!plot || !plot->isVisible()) {
        window_->statusBar()->showMessage(tr("Hover or click a plot first, then export it"), 5000);
        return;
    }
    exportInteractive(tr("Export plot"), plot->title() + QStringLiteral(".png"),
                      [plot](const QString& path) { return plot->exportTo(path); });
}

void WindowActions::exportViewInteractive()
{
    const QString name =
        dashboard_->tabText(dashboard_->currentIndex()).toLower().replace(QLatin1Char(' '), QLatin1Char('-'));
    exportInteractive(tr("Export view"), QStringLiteral("fleetscope-%1.png").arg(name),
                      [this](const QString& path) { return dashboard_->exportView(path); });
}

} // namespace fleetscope::ui
