// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/pages/kpi_tile.hpp"

#include <QLabel>
#include <QStyle>
#include <QVBoxLayout>

namespace fleetscope::ui {

KpiTile::KpiTile(const QString& caption, QWidget* parent)
    : QFrame(parent)
    , caption_(new QLabel(caption.toUpper(), this))
    , value_(new QLabel(QStringLiteral("–"), this))
    , detail_(new QLabel(this))
{
    setObjectName(QStringLiteral("kpiTile"));
    caption_->setObjectName(QStringLiteral("kpiCaption"));
    value_->setObjectName(QStringLiteral("kpiValue"));
    detail_->setObjectName(QStringLiteral("kpiDetail"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 8, 12, 8);
    layout->setSpacing(2);
    layout->addWidget(caption_);
    layout->addWidget(value_);
    layout->addWidget(detail_);
    setMinimumWidth(130);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

void KpiTile::setValue(const QString& value, const QString& detail, Level level)
{
    value_->setText(value);
    detail_->setText(detail);
    static const char* const kLevels[] = {"normal", "warning", "critical", "unavailable"};
    const char* name = kLevels[static_cast<int>(level)];
    if (value_->property("level").toString() != QLatin1String(name)) {
        // The style sheet colours by this property; re-polish so the change shows.
        value_->setProperty("level", QString::fromLatin1(name));
        value_->style()->unpolish(value_);
        value_->style()->polish(value_);
    }
}

QString KpiTile::value() const
{
    return value_->text();
}

} // namespace fleetscope::ui
