// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QToolBar>

class QComboBox;
class QLabel;
class QSlider;

namespace fleetscope::ui {

class CaptureReplay;

/// The controls of an offline review: play/pause, the replay speed (1× to 100×), a scrubber over the
/// capture's span with the replay clock beside it, and the marked spans to jump to. GUI thread only.
class ReplayBar : public QToolBar {
    Q_OBJECT
public:
    explicit ReplayBar(CaptureReplay* replay, QWidget* parent = nullptr);

    /// Call after the replay got new data: the span, the marks and the position.
    void reload();

    QAction* playAction() const { return play_; }
    QComboBox* speedCombo() const { return speed_; }
    QSlider* slider() const { return slider_; }
    QComboBox* marksCombo() const { return marks_; }
    QString clockText() const;

    /// Scrubber resolution: the span maps onto this many steps.
    static constexpr int kSteps = 10'000;

private:
    void showPosition(qint64 ms);
    void scrubTo(int step);
    void updatePlayAction(bool playing);

    CaptureReplay* replay_;
    QAction* play_;
    QComboBox* speed_;
    QSlider* slider_;
    QLabel* clock_;
    QComboBox* marks_;
    QAction* marks_action_ = nullptr;
};

} // namespace fleetscope::ui
