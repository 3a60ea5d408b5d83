// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/theme/icons.hpp"

#include <QPainter>
#include <QPainterPath>
#include <QPixmap>

#include <cmath>
#include <numbers>

namespace fleetscope::ui {

namespace {

void paint(QPainter& p, IconKind kind, const QColor& color)
{
    const QPen pen(color, 2.6, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin);
    p.setPen(pen);
    p.setBrush(Qt::NoBrush);
    switch (kind) {
    case IconKind::Start: {
        QPainterPath tri;
        tri.moveTo(10, 7);
        tri.lineTo(25, 16);
        tri.lineTo(10, 25);
        tri.closeSubpath();
        p.setBrush(color);
        p.drawPath(tri);
        break;
    }
    case IconKind::Stop:
        p.setBrush(color);
        p.drawRoundedRect(QRectF(9, 9, 14, 14), 2, 2);
        break;
    case IconKind::Pause:
        p.setBrush(color);
        p.drawRoundedRect(QRectF(9, 8, 4.5, 16), 1, 1);
        p.drawRoundedRect(QRectF(18.5, 8, 4.5, 16), 1, 1);
        break;
    case IconKind::ResetView: {
        p.drawArc(QRectF(7, 7, 18, 18), 60 * 16, 280 * 16);
        QPainterPath head;
        head.moveTo(20, 4.5);
        head.lineTo(25.5, 9.5);
        head.lineTo(18.5, 11.5);
        head.closeSubpath();
        p.setBrush(color);
        p.drawPath(head);
        break;
    }
    case IconKind::ExportPlot:
        p.drawPolyline(QPolygonF({QPointF(6, 22), QPointF(12, 14), QPointF(17, 18), QPointF(26, 8)}));
        p.drawLine(QPointF(5, 27), QPointF(27, 27));
        break;
    case IconKind::ExportView:
        p.drawRoundedRect(QRectF(6, 6, 20, 20), 3, 3);
        p.drawLine(QPointF(6, 13), QPointF(26, 13));
        p.drawLine(QPointF(14, 13), QPointF(14, 26));
        break;
    case IconKind::Settings: {
        p.drawEllipse(QPointF(16, 16), 4, 4);
        for (int i = 0; i < 8; ++i) {
            const double a = i * std::numbers::pi / 4;
            p.drawLine(QPointF(16 + 8 * std::cos(a), 16 + 8 * std::sin(a)),
                       QPointF(16 + 11 * std::cos(a), 16 + 11 * std::sin(a)));
        }
        p.drawEllipse(QPointF(16, 16), 8, 8);
        break;
    }
    case IconKind::Theme: {
        p.drawEllipse(QPointF(16, 16), 10, 10);
        QPainterPath half;
        half.moveTo(16, 6);
        half.arcTo(QRectF(6, 6, 20, 20), 90, 180);
        half.closeSubpath();
        p.setBrush(color);
        p.drawPath(half);
        break;
    }
    case IconKind::Help: {
        p.drawEllipse(QPointF(16, 16), 11, 11);
        QFont f = p.font();
        f.setBold(true);
        f.setPixelSize(15);
        p.setFont(f);
        p.drawText(QRectF(5, 5, 22, 22), Qt::AlignCenter, QStringLiteral("?"));
        break;
    }
    }
}

} // namespace

QIcon makeIcon(IconKind kind, const QColor& color)
{
    QIcon icon;
    for (int scale : {1, 2}) {
        QPixmap pixmap(32 * scale, 32 * scale);
        pixmap.setDevicePixelRatio(scale);
        pixmap.fill(Qt::transparent);
        QPainter p(&pixmap);
        p.setRenderHint(QPainter::Antialiasing);
        paint(p, kind, color);
        p.end();
        icon.addPixmap(pixmap);
    }
    return icon;
}

} // namespace fleetscope::ui
