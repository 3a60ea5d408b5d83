// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/theme/theme.hpp"

#include <QApplication>
#include <QFile>
#include <QPalette>
#include <QStyleFactory>
#include <qcustomplot.h>

// Outside any namespace, as Q_INIT_RESOURCE requires. The resources live in a static library, whose
// self-registering object file a linker may otherwise drop.
static void initFleetScopeResources()
{
    Q_INIT_RESOURCE(fleetscope);
}

namespace fleetscope::ui {

namespace {

const ThemeColors kDark{QColor(0x1b, 0x1e, 0x24),
                        QColor(0x23, 0x27, 0x2f),
                        QColor(0x15, 0x17, 0x1c),
                        QColor(0xd8, 0xdc, 0xe3),
                        QColor(0x8a, 0x93, 0xa3),
                        QColor(0x2e, 0x34, 0x3e),
                        QColor(0x5a, 0x63, 0x72),
                        QColor(0x4a, 0xa3, 0xff),
                        QColor(0x5c, 0xcf, 0x8a),
                        QColor(0xf2, 0xb5, 0x4a),
                        QColor(0xf0, 0x5d, 0x6c),
                        {QColor(0x4a, 0xa3, 0xff), QColor(0xf5, 0xa7, 0x42), QColor(0x5c, 0xcf, 0x8a),
                         QColor(0xf0, 0x5d, 0x6c), QColor(0xb3, 0x8c, 0xf2), QColor(0x4f, 0xd1, 0xc5),
                         QColor(0xf2, 0xd1, 0x5c), QColor(0xff, 0x7f, 0xb0)}};

const ThemeColors kLight{QColor(0xf3, 0xf4, 0xf6),
                         QColor(0xff, 0xff, 0xff),
                         QColor(0xff, 0xff, 0xff),
                         QColor(0x1f, 0x23, 0x28),
                         QColor(0x5b, 0x64, 0x70),
                         QColor(0xe3, 0xe6, 0xea),
                         QColor(0x9a, 0xa2, 0xad),
                         QColor(0x1f, 0x6f, 0xeb),
                         QColor(0x1a, 0x7f, 0x37),
                         QColor(0xb3, 0x6b, 0x00),
                         QColor(0xcf, 0x22, 0x2e),
                         {QColor(0x1f, 0x6f, 0xeb), QColor(0xd9, 0x77, 0x06), QColor(0x15, 0x80, 0x3d),
                          QColor(0xcf, 0x22, 0x2e), QColor(0x82, 0x50, 0xdf), QColor(0x0f, 0x9f, 0x94),
                          QColor(0xa1, 0x7c, 0x00), QColor(0xd6, 0x33, 0x6c)}};

QPalette paletteFor(const ThemeColors& c)
{
    QPalette p;
    p.setColor(QPalette::Window, c.window);
    p.setColor(QPalette::WindowText, c.text);
    p.setColor(QPalette::Base, c.base);
    p.setColor(QPalette::AlternateBase, c.panel);
    p.setColor(QPalette::ToolTipBase, c.panel);
    p.setColor(QPalette::ToolTipText, c.text);
    p.setColor(QPalette::PlaceholderText, c.muted);
    p.setColor(QPalette::Text, c.text);
    p.setColor(QPalette::Button, c.panel);
    p.setColor(QPalette::ButtonText, c.text);
    p.setColor(QPalette::BrightText, c.bad);
    p.setColor(QPalette::Highlight, c.accent);
    p.setColor(QPalette::HighlightedText, QColor(Qt::white));
    p.setColor(QPalette::Link, c.accent);
    p.setColor(QPalette::Light, c.panel.lighter(130));
    p.setColor(QPalette::Midlight, c.panel.lighter(115));
    p.setColor(QPalette::Mid, c.grid);
    p.setColor(QPalette::Dark, c.window.darker(130));
    p.setColor(QPalette::Shadow, QColor(0, 0, 0, 120));
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, c.muted);
    return p;
}

} // namespace

Theme& Theme::instance()
{
    static Theme theme;
    return theme;
}

const ThemeColors& Theme::colorsOf(ThemeKind kind)
{
    return kind == ThemeKind::Dark ? kDark : kLight;
}

const ThemeColors& Theme::colors() const
{
    return colorsOf(kind_);
}

QString Theme::name(ThemeKind kind)
{
    return kind == ThemeKind::Dark ? QStringLiteral("dark") : QStringLiteral("light");
}

ThemeKind Theme::fromName(const QString& name)
{
    return name == QLatin1String("light") ? ThemeKind::Light : ThemeKind::Dark;
}

void Theme::apply(ThemeKind kind)
{
    static const bool resources = (initFleetScopeResources(), true);
    (void)resources;
    kind_ = kind;
    const ThemeColors& c = colors();
    QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    QApplication::setPalette(paletteFor(c));

    // The style sheet holds only what a palette cannot say (tile frames, tab weight); its colours are filled
    // in from ThemeColors so the .qss files carry layout, not a second copy of the palette.
    QFile qss(QStringLiteral(":/themes/%1.qss").arg(name(kind)));
    QString sheet;
    if (qss.open(QIODevice::ReadOnly))
        sheet = QString::fromUtf8(qss.readAll());
    sheet.replace(QLatin1String("@window"), c.window.name())
        .replace(QLatin1String("@panel"), c.panel.name())
        .replace(QLatin1String("@base"), c.base.name())
        .replace(QLatin1String("@text"), c.text.name())
        .replace(QLatin1String("@muted"), c.muted.name())
        .replace(QLatin1String("@grid"), c.grid.name())
        .replace(QLatin1String("@accent"), c.accent.name())
        .replace(QLatin1String("@warn"), c.warn.name())
        .replace(QLatin1String("@bad"), c.bad.name());
    qApp->setStyleSheet(sheet);
    emit changed(kind);
}

void Theme::stylePlot(QCustomPlot* plot) const
{
    const ThemeColors& c = colors();
    plot->setBackground(QBrush(c.panel));
    for (QCPAxis* axis : plot->axisRect()->axes()) {
        axis->setBasePen(QPen(c.axis, 1));
        axis->setTickPen(QPen(c.axis, 1));
        axis->setSubTickPen(QPen(c.axis, 1));
        axis->setTickLabelColor(c.muted);
        axis->setLabelColor(c.muted);
        axis->grid()->setPen(QPen(c.grid, 1, Qt::SolidLine));
        axis->grid()->setSubGridVisible(false);
        axis->grid()->setZeroLinePen(QPen(c.grid, 1));
    }
    plot->legend->setBrush(QBrush(QColor(c.panel.red(), c.panel.green(), c.panel.blue(), 200)));
    plot->legend->setBorderPen(Qt::NoPen);
    plot->legend->setTextColor(c.text);
    for (int i = 0; i < plot->graphCount(); ++i) {
        QPen pen = plot->graph(i)->pen();
        pen.setColor(c.series[static_cast<std::size_t>(i) % c.series.size()]);
        plot->graph(i)->setPen(pen);
    }
}

} // namespace fleetscope::ui
