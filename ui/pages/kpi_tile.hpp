// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QFrame>

class QLabel;

namespace fleetscope::ui {

/// A key figure: caption, large value, one line of context; the value turns amber or red past a threshold.
/// GUI thread only.
class KpiTile : public QFrame {
    Q_OBJECT
public:
    enum class Level { Normal, Warning, Critical, Unavailable };

    explicit KpiTile(const QString& caption, QWidget* parent = nullptr);

    void setValue(const QString& value, const QString& detail = {}, Level level = Level::Normal);
    QString value() const;

private:
    QLabel* caption_;
    QLabel* value_;
    QLabel* detail_;
};

} // namespace fleetscope::ui
