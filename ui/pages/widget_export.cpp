// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/pages/widget_export.hpp"

#include <QFileInfo>
#include <QPainter>
#include <QPdfWriter>
#include <QPixmap>
#include <QWidget>

#include <algorithm>

namespace fleetscope::ui {

QString exportWidget(QWidget* widget, const QString& path)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == QLatin1String("png"))
        return widget->grab().save(path, "PNG") ? QString() : QObject::tr("cannot write '%1'").arg(path);
    if (suffix == QLatin1String("pdf")) {
        QPdfWriter writer(path);
        writer.setCreator(QStringLiteral("FleetScope"));
        writer.setResolution(96);
        writer.setPageSize(QPageSize(widget->size(), QPageSize::Point));
        writer.setPageMargins(QMarginsF(0, 0, 0, 0));
        QPainter painter;
        if (!painter.begin(&writer))
            return QObject::tr("cannot write '%1'").arg(path);
        const double scale = std::min(writer.width() / static_cast<double>(widget->width()),
                                      writer.height() / static_cast<double>(widget->height()));
        painter.scale(scale, scale);
        widget->render(&painter);
        painter.end();
        return {};
    }
    return QObject::tr("cannot export to '%1': expected a file name ending in .png or .pdf").arg(path);
}

} // namespace fleetscope::ui
