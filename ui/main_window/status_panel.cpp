// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/main_window/status_panel.hpp"

#include "ui/feed/gateway_controller.hpp"
#include "ui/plots/live_plot.hpp"

#include <QLabel>
#include <QLocale>
#include <QStatusBar>

#include <algorithm>

namespace fleetscope::ui {

StatusPanel::StatusPanel(QStatusBar* bar, QObject* parent)
    : QObject(parent)
{
    auto label = [bar](const QString& name) {
        auto* l = new QLabel(bar);
        l->setObjectName(name);
        bar->addPermanentWidget(l);
        return l;
    };
    state_ = label(QStringLiteral("stateLabel"));
    address_ = label(QStringLiteral("addressLabel"));
    access_ = label(QStringLiteral("accessLabel"));
    access_->setToolTip(
        tr("HTTPS when tls-cert and tls-key are set; device tokens when token-file is set, and then every "
           "POST /v1/telemetry needs its device's bearer token"));
    uptime_ = label(QStringLiteral("uptimeLabel"));
    ceiling_ = label(QStringLiteral("ceilingLabel"));
    dropped_ = label(QStringLiteral("droppedLabel"));
    dropped_->setToolTip(tr("Device updates the UI skipped because it lagged; the store has every sample"));
    frame_ = label(QStringLiteral("frameLabel"));
    setState(State::Stopped);
}

void StatusPanel::setState(State state)
{
    // The style sheet colours the settled states; the transitions keep the colour of where they came from.
    switch (state) {
    case State::Stopped:
        state_->setText(tr("● Stopped"));
        state_->setProperty("state", QStringLiteral("stopped"));
        break;
    case State::Starting:
        state_->setText(tr("● Starting…"));
        break;
    case State::Running:
        state_->setText(tr("● Running"));
        state_->setProperty("state", QStringLiteral("running"));
        break;
    case State::Stopping:
        state_->setText(tr("● Stopping…"));
        break;
    case State::Failed:
        state_->setText(tr("● Failed"));
        state_->setProperty("state", QStringLiteral("failed"));
        break;
    case State::Offline:
        state_->setText(tr("● Offline capture"));
        state_->setProperty("state", QStringLiteral("offline"));
        break;
    case State::Attached:
        state_->setText(tr("● Attached"));
        state_->setProperty("state", QStringLiteral("running"));
        break;
    }
}

void StatusPanel::updateFrameP99()
{
    std::vector<double> sorted(frame_ms_.begin(),
                               frame_ms_.begin() + static_cast<long>(std::min(frame_next_, kFrameHistory)));
    std::sort(sorted.begin(), sorted.end());
    frame_p99_ms_ = sorted.empty() ? 0 : sorted[static_cast<std::size_t>(0.99 * (sorted.size() - 1))];
}

void StatusPanel::show(const Facts& f)
{
    const QLocale locale;
    address_->setText(!f.attached.isEmpty() ? f.attached
                      : f.offline           ? tr("read-only, no gateway")
                      : f.running           ? tr("listening %1").arg(f.info.listening)
                                            : tr("not listening"));
    access_->setText(f.running && !f.offline
                         ? tr("%1 · %2").arg(f.info.tls ? tr("HTTPS") : tr("HTTP"),
                                             f.info.auth ? tr("device tokens") : tr("no tokens"))
                         : QString());
    uptime_->setText(f.snapshot ? tr("uptime %1").arg(formatElapsed(f.snapshot->uptime_ms)) : QString());
    ceiling_->setText(f.running ? tr("connection ceiling %1").arg(locale.toString(f.info.connection_ceiling))
                                : QString());
    ceiling_->setToolTip(
        tr("Connections the file limit allows; listen backlog %1").arg(f.info.effective_backlog));
    dropped_->setText(tr("dropped view updates %1").arg(locale.toString(static_cast<qulonglong>(f.dropped))));
    frame_->setText(tr("frame p99 %1 ms").arg(locale.toString(frame_p99_ms_, 'f', 1)));
}

} // namespace fleetscope::ui
