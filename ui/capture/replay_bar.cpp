// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/capture/replay_bar.hpp"

#include "ui/capture/capture_replay.hpp"
#include "ui/plots/live_plot.hpp"
#include "ui/theme/icons.hpp"
#include "ui/theme/theme.hpp"

#include <QComboBox>
#include <QDateTime>
#include <QLabel>
#include <QSlider>

#include <algorithm>
#include <cmath>

namespace fleetscope::ui {

namespace {

QString clockOf(qint64 ms, bool withDate)
{
    return QDateTime::fromMSecsSinceEpoch(ms).toString(withDate ? QStringLiteral("yyyy-MM-dd hh:mm:ss")
                                                                : QStringLiteral("hh:mm:ss"));
}

} // namespace

ReplayBar::ReplayBar(CaptureReplay* replay, QWidget* parent)
    : QToolBar(tr("Replay"), parent)
    , replay_(replay)
    , play_(new QAction(tr("Play"), this))
    , speed_(new QComboBox(this))
    , slider_(new QSlider(Qt::Horizontal, this))
    , clock_(new QLabel(this))
    , marks_(new QComboBox(this))
{
    setObjectName(QStringLiteral("replayBar"));
    setMovable(false);
    setIconSize(QSize(20, 20));
    setToolButtonStyle(Qt::ToolButtonTextBesideIcon);

    play_->setObjectName(QStringLiteral("replayPlay"));
    play_->setCheckable(true);
    play_->setToolTip(tr("Play the capture back from the scrubber's position, or pause it"));
    addAction(play_);

    speed_->setObjectName(QStringLiteral("replaySpeed"));
    speed_->setToolTip(tr("Replay speed: capture time per second of wall time"));
    for (double s : CaptureReplay::kSpeeds)
        speed_->addItem(QStringLiteral("%1×").arg(s), s);
    addWidget(speed_);

    slider_->setObjectName(QStringLiteral("replaySlider"));
    slider_->setRange(0, kSteps);
    slider_->setToolTip(tr("Drag to show the capture as it was at that moment"));
    slider_->setMinimumWidth(300);
    addWidget(slider_);

    clock_->setObjectName(QStringLiteral("replayClock"));
    clock_->setMinimumWidth(clock_->fontMetrics().horizontalAdvance(
        QStringLiteral("0000-00-00 00:00:00  (+00:00:00 of 00:00:00)")));
    addWidget(clock_);

    marks_->setObjectName(QStringLiteral("replayMarks"));
    marks_->setToolTip(tr("Marked spans of the session: pick one to jump to its start"));
    marks_action_ = addWidget(marks_);

    connect(play_, &QAction::toggled, replay_, &CaptureReplay::setPlaying);
    connect(replay_, &CaptureReplay::playingChanged, this, &ReplayBar::updatePlayAction);
    connect(speed_, &QComboBox::currentIndexChanged, this,
            [this](int i) { replay_->setSpeed(speed_->itemData(i).toDouble()); });
    connect(slider_, &QSlider::valueChanged, this, [this](int step) {
        // Our own updates come with signals blocked: whatever reaches here is the user (or a test) scrubbing.
        scrubTo(step);
    });
    connect(replay_, &CaptureReplay::positionChanged, this, &ReplayBar::showPosition);
    connect(marks_, &QComboBox::activated, this, [this](int i) {
        if (i > 0)
            replay_->seek(marks_->itemData(i).toLongLong());
    });
    connect(&Theme::instance(), &Theme::changed, this, [this] { updatePlayAction(replay_->playing()); });
    updatePlayAction(false);
    reload();
}

void ReplayBar::reload()
{
    speed_->setCurrentIndex(std::max(0, speed_->findData(replay_->speed())));
    marks_->clear();
    const ReplayData* data = replay_->data();
    if (data && !data->marks.empty()) {
        marks_->addItem(tr("Marks (%1)").arg(data->marks.size()));
        for (const store::MarkRow& m : data->marks)
            marks_->addItem(
                QStringLiteral("%1  %2–%3")
                    .arg(QString::fromStdString(m.label), clockOf(m.from_ts, false), clockOf(m.to_ts, false)),
                static_cast<qlonglong>(m.from_ts));
    }
    marks_action_->setVisible(marks_->count() > 0);
    showPosition(replay_->position());
}

void ReplayBar::scrubTo(int step)
{
    const double span = static_cast<double>(replay_->endMs() - replay_->beginMs());
    replay_->seek(replay_->beginMs() + std::llround(span * step / kSteps));
}

void ReplayBar::showPosition(qint64 ms)
{
    const qint64 begin = replay_->beginMs();
    const qint64 span = replay_->endMs() - begin;
    if (!slider_->isSliderDown()) {
        const QSignalBlocker block(slider_);
        slider_->setValue(
            span > 0 ? static_cast<int>(std::llround(static_cast<double>(ms - begin) * kSteps / span))
                     : kSteps);
    }
    clock_->setText(clockText());
}

QString ReplayBar::clockText() const
{
    if (!replay_->data())
        return tr("no capture");
    const qint64 begin = replay_->beginMs();
    return tr("%1  (+%2 of %3)")
        .arg(clockOf(replay_->position(), true), formatElapsed(replay_->position() - begin),
             formatElapsed(replay_->endMs() - begin));
}

void ReplayBar::updatePlayAction(bool playing)
{
    const QSignalBlocker block(play_);
    play_->setChecked(playing);
    play_->setText(playing ? tr("Pause replay") : tr("Play"));
    play_->setIcon(makeIcon(playing ? IconKind::Pause : IconKind::Start, Theme::instance().colors().text));
}

} // namespace fleetscope::ui
